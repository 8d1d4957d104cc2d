"""The work queue: queued processing steps, per agent, and what bulk operations did."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QueueState(BaseModel):
    paused: bool
    changed_by: str | None = None
    changed_at: datetime | None = None


class QueueClearResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"count": 1, "job_ids": ["0b7e3c52-9a0f-4e8e-8d53-4f3f1f6f2a10"], "dry_run": True}
            ]
        }
    )

    count: int
    job_ids: list[uuid.UUID]
    dry_run: bool = False


class QueueRetryResult(BaseModel):
    count: int
    job_ids: list[uuid.UUID]
    dry_run: bool = False


class AgentDepth(BaseModel):
    agent: str
    queued: int
    running: int
    oldest_wait_s: float | None = None


class QueueStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "paused": False,
                    "queued": 4,
                    "processing": 1,
                    "oldest_wait_s": 12.5,
                    "agents": [
                        {"agent": "scenes", "queued": 4, "running": 1, "oldest_wait_s": 12.5}
                    ],
                }
            ]
        }
    )

    paused: bool
    queued: int = Field(description="Queued steps, all agents")
    processing: int = Field(description="Jobs being processed")
    oldest_wait_s: float | None = Field(description="Age of the oldest queued step")
    agents: list[AgentDepth]


QUEUED_WORK_EXAMPLE: dict[str, Any] = {
    "step_id": "3c9d5e1f-2a4b-4c6d-8e0f-1a2b3c4d5e6f",
    "job_id": "0b7e3c52-9a0f-4e8e-8d53-4f3f1f6f2a10",
    "title": "keynote.mp4",
    "owner_id": "9d1b2f0e-3c4a-4b5d-8e6f-7a8b9c0d1e2f",
    "agent": "scenes",
    "status": "queued",
    "priority": 0,
    "attempt": 1,
    "queued_at": "2026-01-01T10:00:04Z",
    "started_at": None,
    "wait_s": 1.2,
}


class QueuedWork(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [QUEUED_WORK_EXAMPLE]})

    step_id: uuid.UUID
    job_id: uuid.UUID
    title: str
    owner_id: uuid.UUID | None = None
    agent: str
    status: str
    priority: int
    attempt: int
    queued_at: datetime
    started_at: datetime | None = None
    wait_s: float


class QueueStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "window_hours": 24,
                    "steps_completed": 540,
                    "steps_failed": 6,
                    "jobs_completed": 90,
                    "jobs_failed": 2,
                    "throughput_per_hour": 3.75,
                    "mean_wait_s": 4.1,
                    "mean_processing_s": 12.9,
                }
            ]
        }
    )

    window_hours: int = 24
    steps_completed: int
    steps_failed: int
    jobs_completed: int
    jobs_failed: int
    throughput_per_hour: float = Field(description="Jobs completed per hour over the window")
    mean_wait_s: float | None = Field(description="Queued -> started, steps started in window")
    mean_processing_s: float | None = Field(description="Step duration, steps finished in window")
