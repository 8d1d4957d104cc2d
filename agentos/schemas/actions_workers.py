"""AgentsWorkers view, worker actions: payloads and results (ACTIONS.md).

The same shapes on both deployments: Celery workers answer Celery's remote control, the
embedded runners answer the same requests over the bus.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentos.schemas.actions import ActionPayload, DangerousPayload

WorkerName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f]+$",
        description="A worker's name as listed in the workers table (Celery: its hostname)",
        examples=["celery@host-1"],
    ),
]
POOL_STEP_MAX = 64
POOL_SIZE_MAX = 256


class WorkerTargetPayload(ActionPayload):
    worker: WorkerName | None = Field(
        default=None, description="One worker; every online worker when omitted"
    )


class WorkerPoolPayload(ActionPayload):
    worker: WorkerName
    n: int = Field(
        default=1, ge=1, le=POOL_STEP_MAX, description="processes (threads) to add or remove"
    )


class WorkerAutoscalePayload(ActionPayload):
    model_config = ConfigDict(
        json_schema_extra={
            "x-cross-field-rules": [
                {
                    "rule": "not-greater",
                    "fields": ["min", "max"],
                    "description": "min must not be above max (422 VALIDATION_ERROR)",
                }
            ]
        }
    )

    worker: WorkerName
    min: int = Field(ge=0, le=POOL_SIZE_MAX, description="the pool never shrinks below this")
    max: int = Field(ge=1, le=POOL_SIZE_MAX, description="the pool never grows above this")

    @model_validator(mode="after")
    def _ordered(self) -> WorkerAutoscalePayload:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be above max ({self.max})")
        return self


class WorkerShutdownPayload(DangerousPayload):
    worker: WorkerName


class WorkerRevokePayload(ActionPayload):
    task_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f]+$",
        description="The Celery task id of a stage (embedded: the step id)",
    )
    terminate: bool = Field(default=False, description="Also stop the task if it is running")


class WorkerReply(BaseModel):
    """One worker's answer to a remote-control request."""

    worker: str
    ok: bool
    latency_ms: float | None = Field(default=None, description="request to reply, this side")
    error: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)


class WorkerReplies(BaseModel):
    replies: list[WorkerReply]
    missing: list[str] = Field(
        default_factory=list,
        description="Workers listed online that did not answer within the reply timeout",
    )
    timeout_s: float


class ActiveTask(BaseModel):
    task_id: str
    step_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None
    agent: str | None = None
    started_at: datetime | None = None


class WorkerStats(BaseModel):
    worker: str
    kind: str = Field(examples=["celery", "embedded"])
    pid: int | None = None
    hostname: str | None = None
    uptime_s: float | None = None
    cpu_percent: float | None = Field(default=None, description="psutil, the worker's processes")
    memory_bytes: int | None = Field(default=None, description="psutil RSS of its processes")
    load_avg: list[float] = Field(default_factory=list, description="1, 5, 15 minutes")
    tasks_done: int | None = Field(default=None, description="as the worker itself counts")
    tasks_failed: int | None = None
    pool_size: int | None = Field(default=None, description="processes (threads) it may run")
    autoscale: list[int] | None = Field(default=None, description="[min, max] when autoscaling")
    active: list[ActiveTask] = Field(default_factory=list)
    latency_ms: float | None = None


class WorkerStatsResult(BaseModel):
    workers: list[WorkerStats]
    missing: list[str] = Field(default_factory=list)
    timeout_s: float


class WorkerPoolResult(BaseModel):
    worker: str
    before: int | None = Field(default=None, description="pool size before the change")
    after: int | None = Field(default=None, description="pool size the worker reports after")
    autoscale: list[int] | None = None


class WorkerShutdownResult(BaseModel):
    worker: str
    running: int = Field(description="stages it was running; a warm shutdown lets them finish")
    offline: bool = Field(description="the worker was seen going offline within the wait")
    dry_run: bool = False


class WorkerRevokeResult(BaseModel):
    task_id: str
    step_id: uuid.UUID
    job_id: uuid.UUID
    agent: str
    step_status: str = Field(description="the stage's status when revoked")
    terminated: bool = Field(description="a running task was told to stop")
    job_status: str
