"""Jobs: the read shapes, the create/update payloads and the list filters."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum, nonmember
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentos.schemas.agents import CONFIG_MODELS
from agentos.schemas.clips import ClipRead
from agentos.schemas.common import ReadModel, RequestModel

PRIORITY_MIN = -100
PRIORITY_MAX = 100


class JobStatus(StrEnum):
    """A job's status; the groups of statuses the code asks about are defined here only."""

    pending = "pending"
    queued = "queued"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    # Finished for good: deletable, nothing runs for it any more.
    TERMINAL = nonmember(frozenset({"completed", "failed", "cancelled"}))
    # Not finished: what cancel applies to.
    UNFINISHED = nonmember(frozenset({"pending", "queued", "processing"}))
    # Waiting for or holding a worker: the dashboard's "active", what a running stage may end.
    IN_FLIGHT = nonmember(frozenset({"queued", "processing"}))
    # What retry applies to.
    RETRYABLE = nonmember(frozenset({"failed", "cancelled"}))
    # Runs that ended by themselves: throughput and error rate are counted over these.
    OUTCOMES = nonmember(("completed", "failed"))


JOB_STATUSES: tuple[str, ...] = tuple(status.value for status in JobStatus)
StepState = Literal["started", "progress", "completed", "failed"]


# A rule between fields that JSON Schema cannot state, documented where it applies.
CLIP_BOUNDS_RULE: dict[str, Any] = {
    "rule": "less-than",
    "fields": ["min_clip_s", "max_clip_s"],
    "description": "min_clip_s must be less than max_clip_s (422 VALIDATION_ERROR)",
}


class JobOptions(RequestModel):
    """Per-job processing options; unset fields fall back to the agents' configuration.
    When both are given, min_clip_s must be less than max_clip_s."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"x-cross-field-rules": [CLIP_BOUNDS_RULE]}
    )

    min_clip_s: float | None = Field(default=None, gt=0, le=3600, examples=[2.0])
    max_clip_s: float | None = Field(default=None, gt=0, le=3600, examples=[30.0])
    scene_threshold: float | None = Field(default=None, ge=1, le=100, examples=[27.0])

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if (
            self.min_clip_s is not None
            and self.max_clip_s is not None
            and self.min_clip_s >= self.max_clip_s
        ):
            raise ValueError("min_clip_s must be less than max_clip_s")
        return self


JOB_EXAMPLE: dict[str, Any] = {
    "id": "0b7e3c52-9a0f-4e8e-8d53-4f3f1f6f2a10",
    "title": "keynote.mp4",
    "status": "processing",
    "priority": 0,
    "attempts": 1,
    "max_attempts": 3,
    "current_stage": "scenes",
    "progress": 0.42,
    "cancel_requested": False,
    "owner_id": "9d1b2f0e-3c4a-4b5d-8e6f-7a8b9c0d1e2f",
    "options": {"min_clip_s": 2.0, "max_clip_s": 30.0},
    "created_at": "2026-01-01T10:00:00Z",
    "updated_at": "2026-01-01T10:00:05Z",
    "queued_at": "2026-01-01T10:00:04Z",
    "started_at": "2026-01-01T10:00:01Z",
}


class JobRead(ReadModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [JOB_EXAMPLE]})

    id: uuid.UUID
    title: str
    status: JobStatus
    priority: int
    attempts: int
    max_attempts: int
    current_stage: str | None = None
    progress: float
    cancel_requested: bool
    owner_id: uuid.UUID | None = None
    upload_id: uuid.UUID | None = None
    source_path: str | None = None
    source_sha256: str | None = None
    source_size: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    media_info: dict[str, Any] | None = None
    error: str | None = None
    error_code: str | None = None
    trace_id: str | None = Field(
        default=None, description="of the request that created the job (logs.search trace_id=)"
    )
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


STEP_EXAMPLE: dict[str, Any] = {
    "id": "3c9d5e1f-2a4b-4c6d-8e0f-1a2b3c4d5e6f",
    "job_id": JOB_EXAMPLE["id"],
    "agent": "scenes",
    "attempt": 1,
    "status": "running",
    "priority": 0,
    "worker_id": "embedded-1",
    "progress": 0.42,
    "created_at": "2026-01-01T10:00:04Z",
    "started_at": "2026-01-01T10:00:04Z",
    "heartbeat_at": "2026-01-01T10:00:05Z",
}


class StepRead(ReadModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [STEP_EXAMPLE]})

    id: uuid.UUID
    job_id: uuid.UUID
    agent: str
    attempt: int
    status: str
    priority: int
    worker_id: str | None = None
    progress: float
    created_at: datetime
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    error: str | None = None
    output: dict[str, Any] | None = None


class JobDetail(JobRead):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{**JOB_EXAMPLE, "steps": [STEP_EXAMPLE], "clips": []}]},
    )

    steps: list[StepRead] = Field(default_factory=list)
    clips: list[ClipRead] = Field(default_factory=list)


# What a job list may be ordered by (`GET /api/jobs/history?sort=...&order=...`); every
# order ends with the job id, so pages never overlap or skip a job.
JobSort = Literal[
    "created_at", "updated_at", "priority", "status", "title", "progress", "attempts",
    "current_stage", "id",
]  # fmt: skip
SortOrder = Literal["asc", "desc"]


class JobFilters(BaseModel):
    status: list[JobStatus] | None = None
    owner_id: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = Field(default=None, max_length=255)
    id_prefix: str | None = Field(default=None, min_length=4, max_length=36)
    sort: JobSort = Field(
        default="created_at",
        description="Order by this field (status and current_stage in pipeline order)",
    )
    order: SortOrder = Field(default="desc", description="asc or desc (newest first by default)")


STATS_EXAMPLE: dict[str, Any] = {
    "total": 45,
    "by_status": {"pending": 0, "queued": 3, "processing": 0, "completed": 40, "failed": 2,
                  "cancelled": 0},
    "active": 3,
    "success_rate": 0.952,
    "mean_duration_s": 84.5,
}  # fmt: skip


class JobStats(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [STATS_EXAMPLE]})

    total: int
    by_status: dict[str, int] = Field(examples=[{"queued": 3, "completed": 40, "failed": 2}])
    active: int = Field(description="queued + processing")
    success_rate: float | None = Field(description="completed / (completed + failed)")
    mean_duration_s: float | None = Field(description="started -> finished, completed jobs")


class JobsToday(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"date": "2026-01-01", "stats": STATS_EXAMPLE, "jobs": [JOB_EXAMPLE]}]
        }
    )

    date: date
    stats: JobStats
    jobs: list[JobRead]


class JobCreate(RequestModel):
    """Create a job from a finalised upload, with the job's options."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "upload_id": "5f0c6c1e-8d2a-4f7e-9a53-2b1d9c0e4a11",
                    "title": "Keynote",
                    "options": {"min_clip_s": 2.0, "max_clip_s": 30.0},
                    "priority": 5,
                }
            ]
        },
    )

    upload_id: uuid.UUID = Field(examples=["5f0c6c1e-8d2a-4f7e-9a53-2b1d9c0e4a11"])
    title: str | None = Field(default=None, min_length=1, max_length=255, examples=["Keynote"])
    options: JobOptions = Field(default_factory=JobOptions)
    priority: int = Field(default=0, ge=PRIORITY_MIN, le=PRIORITY_MAX)


class JobStatusUpdate(RequestModel):
    """A stage report from an external agent, or a forced state from an operator.

    Give `stage` + `state` (an agent reporting) or `status` (an operator forcing the job).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"stage": "scenes", "state": "progress", "progress": 0.5},
                {"status": "failed", "error": "source corrupt", "error_code": "BAD_SOURCE"},
            ],
            # The two forms, as the server tells them apart (a null field is an absent one).
            "oneOf": [
                {
                    "title": "Stage report (agent)",
                    "required": ["stage", "state"],
                    "properties": {
                        "stage": {"enum": list(CONFIG_MODELS)},  # the pipeline's stages
                        "state": {"type": "string"},
                        "status": {"type": "null"},
                    },
                },
                {
                    "title": "Forced status (operator)",
                    "required": ["status"],
                    "properties": {
                        "status": {"type": "string"},
                        "stage": {"type": "null"},
                        "state": {"type": "null"},
                    },
                },
            ],
        },
    )

    stage: str | None = Field(default=None, examples=["scenes"])
    state: StepState | None = Field(default=None, examples=["progress"])
    status: JobStatus | None = Field(default=None, examples=["failed"])
    progress: float | None = Field(default=None, ge=0, le=1, examples=[0.5])
    error: str | None = Field(default=None, max_length=4000)
    error_code: str | None = Field(default=None, max_length=64)
    output: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        agent_form = self.stage is not None or self.state is not None
        if agent_form == (self.status is not None):
            raise ValueError("give either stage and state, or status")
        if agent_form and (self.stage is None or self.state is None):
            raise ValueError("stage and state go together")
        return self


class JobDeleted(BaseModel):
    job_id: uuid.UUID
    steps: int
    clips: int
    files: list[str] = Field(description="Files and directories removed after the commit")
