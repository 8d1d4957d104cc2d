"""Agents (pipeline stages): status, configuration, performance and health."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class _AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestConfig(_AgentConfig):
    pass


class ProbeConfig(_AgentConfig):
    pass


class PublishConfig(_AgentConfig):
    pass


class ScenesConfig(_AgentConfig):
    threshold: float = Field(ge=1, le=100, description="HSV difference that marks a cut")
    min_scene_s: float = Field(ge=0, le=600, description="Shorter scenes are merged")
    analysis_width: int = Field(default=256, ge=32, le=1920, description="Decode width, px")


class ClipperConfig(_AgentConfig):
    min_clip_s: float = Field(gt=0, le=3600)
    max_clip_s: float = Field(gt=0, le=3600)
    reencode_height: int | None = Field(default=None, ge=144, le=4320)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_clip_s >= self.max_clip_s:
            raise ValueError("min_clip_s must be less than max_clip_s")
        return self


class ThumbsConfig(_AgentConfig):
    width: int = Field(ge=16, le=3840)
    quality: int = Field(ge=1, le=100)


CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "ingest": IngestConfig,
    "probe": ProbeConfig,
    "scenes": ScenesConfig,
    "clipper": ClipperConfig,
    "thumbs": ThumbsConfig,
    "publish": PublishConfig,
}
