"""The stage contract: what a stage function gets (`StageContext`) and returns
(`StageResult`). The six functions are in `stage_functions`; `step_runner` runs them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from agentos.db.models import Job
from agentos.schemas.work import ClaimedStep
from agentos.services.pipeline import claims
from agentos.services.pipeline.monitor import StageMonitor
from agentos.services.runtime import Runtime
from agentos.settings import Settings


@dataclass
class StageContext:
    runtime: Runtime
    claimed: ClaimedStep
    job: dict[str, Any]
    config: dict[str, Any]
    loaded_outputs: dict[str, dict[str, Any]] | None
    monitor: StageMonitor

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def job_id(self) -> uuid.UUID:
        return self.claimed.job_id

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        """What the job's earlier stages produced, read when a stage first asks (only the
        clipper does), so the claim of every other stage skips that query."""
        if self.loaded_outputs is None:
            with self.runtime.session() as session:
                self.loaded_outputs = claims.stage_outputs(
                    session, job_id=self.job_id, agent=self.claimed.agent
                )
        return self.loaded_outputs

    def should_stop(self) -> bool:
        return self.monitor.should_stop()

    def on_progress(self, fraction: float) -> None:
        self.monitor.on_progress(fraction)


@dataclass
class StageResult:
    output: dict[str, Any] = field(default_factory=dict)
    # Writes the stage's own rows in the completing transaction (same commit as the step).
    apply: Callable[[Session, Job], None] | None = None


StageFunction = Callable[[StageContext], StageResult]
