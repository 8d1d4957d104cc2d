"""Agents (pipeline stages): status, configuration, performance and health."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

CONCURRENCY_MIN = 1
CONCURRENCY_MAX = 64


class AgentStatus(BaseModel):
    id: uuid.UUID
    name: str
    stage_order: int
    description: str
    enabled: bool
    concurrency: int
    config: dict[str, Any]
    queue_depth: int
    running: int
    last_activity: datetime | None = None


class AgentConfigRead(BaseModel):
    agent: str
    config: dict[str, Any]
    defaults: dict[str, Any]


class AgentConfigUpdate(BaseModel):
    agent: str = Field(examples=["scenes"], description="Agent name or id")
    config: dict[str, Any] = Field(examples=[{"threshold": 30.0}])


class AgentRef(BaseModel):
    agent: str = Field(examples=["clipper"], description="Agent name or id")
    dry_run: bool = False


class ConcurrencyUpdate(BaseModel):
    concurrency: int = Field(ge=CONCURRENCY_MIN, le=CONCURRENCY_MAX, examples=[4])


class AgentPerformance(BaseModel):
    agent: str
    completed: int
    failed: int
    throughput_per_hour: float
    mean_ms: float | None = None
    p95_ms: float | None = None
    error_rate: float | None = Field(description="failed / (completed + failed)")


class AgentHealth(BaseModel):
    agent: str
    status: Literal["healthy", "stopped", "stalled"]
    enabled: bool
    running: int
    stalled_steps: int
    queue_depth: int
    last_error: str | None = None
    last_error_at: datetime | None = None


class AgentsHealth(BaseModel):
    status: Literal["healthy", "degraded"]
    stall_after_s: float
    agents: list[AgentHealth]


class AgentLogEntry(BaseModel):
    at: datetime
    kind: Literal["step", "event"]
    level: str
    message: str
    job_id: uuid.UUID | None = None
    ref_id: uuid.UUID
