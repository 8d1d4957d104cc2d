"""The one stage task: run a queued processing step. A thin wrapper over the services."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import shared_task

from agentos.db.session import session_scope
from agentos.schemas.work import ClaimedStep
from agentos.services import stages, work
from agentos.settings import get_settings
from agentos.tasks.app import RUN_STEP, AgentOSTask
from agentos.tasks.dispatcher import send_reserved

logger = logging.getLogger(__name__)


@shared_task(name=RUN_STEP, bind=True, base=AgentOSTask, acks_late=True, ignore_result=True)
def run_step(self: AgentOSTask, step_id: str, agent: str | None = None) -> dict[str, Any]:
    """Claim the step (or take it over from a dead worker) and run it; else do nothing.

    A redelivered message for a step that already finished, or that a live worker runs,
    claims nothing: that is what makes redelivery safe.
    """
    settings = get_settings()
    worker_id = self.request.hostname or work.default_worker_name("celery")
    claimed = _claim(uuid.UUID(step_id), worker_id)
    if claimed is None:
        return {"step_id": step_id, "status": "skipped"}
    outcome = stages.run_step(settings, claimed=claimed, reserve_next=True)
    if outcome.next_step is not None and outcome.next_task_id is not None:
        # Reserved in the completing commit: the next stage's message goes out right now,
        # from here, like the next link of a Celery chain.
        send_reserved(self.app, settings, outcome.next_step, outcome.next_task_id)
    return outcome.model_dump(mode="json")


def _claim(step_id: uuid.UUID, worker_id: str) -> ClaimedStep | None:
    with session_scope(get_settings()) as session:
        claimed = work.claim_step(session, step_id=step_id, worker_id=worker_id)
        if claimed is None:
            claimed = work.take_over(session, step_id=step_id, worker_id=worker_id)
        if claimed is None:
            # Queued but not runnable now (agent stopped, queue paused): forget this
            # message so the step is sent again once it may run.
            work.release_sent(session, step_id=step_id)
    return claimed
