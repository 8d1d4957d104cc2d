"""The admin read model (SSOT document): one document, five sections, and its cache metadata."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from agentos.schemas.health import MaintenanceState

CacheSource = Literal["hit", "miss", "direct"]
JOB_STATUSES: tuple[str, ...] = (
    "pending",
    "queued",
    "processing",
    "completed",
    "failed",
    "cancelled",
)


class DashboardWarning(BaseModel):
    code: str = Field(examples=["NO_WORKERS"])
    message: str = Field(
        examples=["no workers online: 43 jobs stalled; start `agentos serve` or `agentos worker`"]
    )


class DashboardSection(BaseModel):
    jobs_by_status: dict[str, int] = Field(description="every job status, zero when absent")
    total_jobs: int
    active_jobs: int = Field(description="processing + queued")
    completed_today: int = Field(description="finished since 00:00 UTC")
    failed_today: int
    throughput_per_hour: int = Field(description="jobs completed in the last 60 minutes")
    error_rate: float = Field(description="failed / (completed + failed) over the last 24 h")
    total_clips: int
    agents_total: int
    agents_enabled: int
    workers_online: int
    unacknowledged_errors: int = Field(description="error/critical events not yet acknowledged")
    queue_paused: bool
    maintenance: MaintenanceState = Field(
        default_factory=lambda: MaintenanceState(enabled=False),
        description="maintenance mode: user writes answer 503 while it is on",
    )
    warnings: list[DashboardWarning] = Field(
        default_factory=list, description="what needs an operator now, worst first"
    )


class CurrentWork(BaseModel):
    step_id: uuid.UUID
    job_id: uuid.UUID
    worker_id: str | None
    started_at: datetime | None
    progress: float


class AgentStatus(BaseModel):
    name: str
    stage_order: int
    enabled: bool
    state: Literal["disabled", "busy", "idle", "stalled"] = Field(
        description="stalled: it has work but no online worker serves it"
    )
    concurrency: int
    queue_depth: int
    running: int
    current_work: list[CurrentWork]


class WorkerStatus(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    hostname: str
    pid: int
    agents: list[str]
    concurrency: int
    online: bool
    status: str
    tasks_done: int
    tasks_failed: int
    cpu_percent: float | None
    memory_bytes: int | None
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_s: float


class ProcessStats(BaseModel):
    pid: int
    cpu_percent: float
    memory_bytes: int
    threads: int


class AgentsWorkersSection(BaseModel):
    agents: list[AgentStatus]
    workers: list[WorkerStatus]
    workers_online: int
    workers_offline: int
    process: ProcessStats | None = Field(description="this server process (embedded only)")


class AnalyticsBucket(BaseModel):
    hour: datetime
    created: int
    completed: int
    failed: int


class AnalyticsSection(BaseModel):
    hours: int
    buckets: list[AnalyticsBucket]
    created: int
    completed: int
    failed: int


class QueueAgent(BaseModel):
    agent: str
    enabled: bool
    depth: int
    running: int
    oldest_waiting_s: float | None


class QueueSection(BaseModel):
    paused: bool
    pending_jobs: int
    queued_jobs: int
    processing_jobs: int
    total_depth: int
    oldest_waiting_s: float | None
    agents: list[QueueAgent]


class LogEntry(BaseModel):
    id: uuid.UUID
    created_at: datetime
    severity: str
    source: str
    kind: str
    message: str
    job_id: uuid.UUID | None
    acknowledged: bool


class FailedJob(BaseModel):
    id: uuid.UUID
    title: str
    error: str | None
    error_code: str | None
    finished_at: datetime | None


class LogsSection(BaseModel):
    recent_events: list[LogEntry]
    recent_errors: list[LogEntry]
    failed_jobs: list[FailedJob]


class AdminDocument(BaseModel):
    version: int = 4
    deployment: Literal["embedded", "distributed"]
    built_at: datetime
    build_ms: float
    dashboard: DashboardSection
    agents_workers: AgentsWorkersSection
    analytics: AnalyticsSection
    queue: QueueSection
    logs: LogsSection


class CacheMeta(BaseModel):
    source: CacheSource
    age_s: float
    built_at: datetime
    build_ms: float
    size_bytes: int


class SsotEnvelope(BaseModel):
    success: bool = True
    data: AdminDocument
    cache: CacheMeta
    timestamp: datetime
    response_time_ms: float


class DashboardEnvelope(BaseModel):
    success: bool = True
    data: DashboardSection
    cache: CacheMeta
    timestamp: datetime
    response_time_ms: float


class RebuildResult(BaseModel):
    built_at: datetime
    build_ms: float
    size_bytes: int
    cached: bool = Field(description="written to the shared cache (false when it is down)")


class SsotHealth(BaseModel):
    cache_backend: str
    cache_available: bool
    cached: bool = Field(description="the document is in the shared cache now")
    cache_ttl_s: float | None = Field(description="seconds left before the cached copy expires")
    local_copy: bool
    age_s: float | None
    last_built_at: datetime | None
    last_build_ms: float | None
    last_size_bytes: int | None
    last_error: str | None
    warmer_running: bool
    feed_running: bool
    hits: int
    misses: int
    direct: int
    rebuilds: int
    hit_rate: float
