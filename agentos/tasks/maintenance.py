"""Periodic tasks (Celery beat): thin wrappers over the same jobs the embedded scheduler runs."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from agentos.services.pipeline.runner import run_periodic as run_job
from agentos.tasks.app import RUN_PERIODIC, AgentOSTask


@shared_task(name=RUN_PERIODIC, bind=True, base=AgentOSTask, ignore_result=True)
def run_periodic(self: AgentOSTask, name: str) -> Any:
    result = run_job(self.runtime, name)
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return result if isinstance(result, int | float | str | list | dict | type(None)) else None
