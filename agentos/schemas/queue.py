"""The work queue: queued processing steps, per agent, and what bulk operations did."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class QueueState(BaseModel):
    paused: bool
    changed_by: str | None = None
    changed_at: datetime | None = None


class QueueClearResult(BaseModel):
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
    paused: bool
    queued: int = Field(description="Queued steps, all agents")
    processing: int = Field(description="Jobs being processed")
    oldest_wait_s: float | None = Field(description="Age of the oldest queued step")
    agents: list[AgentDepth]


class QueuedWork(BaseModel):
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
    window_hours: int = 24
    steps_completed: int
    steps_failed: int
    jobs_completed: int
    jobs_failed: int
    throughput_per_hour: float = Field(description="Jobs completed per hour over the window")
    mean_wait_s: float | None = Field(description="Queued -> started, steps started in window")
    mean_processing_s: float | None = Field(description="Step duration, steps finished in window")
