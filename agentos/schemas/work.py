"""What the runner layer hands around: claimed steps, step control, reclaim reports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ClaimedStep(BaseModel):
    """A processing step this worker now owns (status `running`, worker_id = this worker)."""

    step_id: uuid.UUID
    job_id: uuid.UUID
    agent: str
    attempt: int
    worker_id: str
    started_at: datetime | None = None
    # What the stage reads, loaded in the claiming transaction (None: read it when needed).
    job: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    outputs: dict[str, dict[str, Any]] | None = None

    @property
    def trace_id(self) -> str | None:
        return None if self.job is None else self.job.get("trace_id")


class QueuedStep(BaseModel):
    step_id: uuid.UUID
    job_id: uuid.UUID
    agent: str
    priority: int
    trace_id: str | None = Field(default=None, description="of the request behind the job")


class StepControl(BaseModel):
    """The answer to a heartbeat: may the stage go on?"""

    owned: bool = Field(description="the step is still running under this worker")
    cancel_requested: bool = False

    @property
    def should_stop(self) -> bool:
        return not self.owned or self.cancel_requested


class StepOutcome(BaseModel):
    step_id: uuid.UUID
    agent: str
    status: str = Field(examples=["completed", "failed", "cancelled", "retrying", "skipped"])
    error: str | None = None
    next_agent: str | None = None
    # The next stage's step and the message id reserved for it in the completing commit
    # (only when the runner asked to send that message itself).
    next_step: QueuedStep | None = None
    next_task_id: str | None = None
    # The next stage, already started under this worker (pipeline/handover.py).
    next_claimed: ClaimedStep | None = None


class ReclaimReport(BaseModel):
    requeued: list[uuid.UUID] = Field(default_factory=list)
    stalled: list[uuid.UUID] = Field(default_factory=list)
    workers_offline: list[str] = Field(default_factory=list)


class WorkerInfo(BaseModel):
    name: str
    kind: str
    hostname: str
    pid: int
    agents: list[str]
    concurrency: int
    status: str
    tasks_done: int
    tasks_failed: int
    cpu_percent: float | None = None
    memory_bytes: int | None = None
    started_at: datetime
    heartbeat_at: datetime
    extra: dict[str, Any] = Field(default_factory=dict)
