"""Agents (pipeline stages): status, configuration, performance and health."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentos.schemas.common import RequestModel

CONCURRENCY_MIN = 1
CONCURRENCY_MAX = 64


AGENT_STATUS_EXAMPLE: dict[str, Any] = {
    "id": "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
    "name": "scenes",
    "stage_order": 3,
    "description": "Detect scene cuts",
    "enabled": True,
    "concurrency": 2,
    "config": {"threshold": 27.0, "min_scene_s": 1.0, "analysis_width": 256},
    "queue_depth": 4,
    "running": 1,
    "last_activity": "2026-01-01T10:00:05Z",
}


class AgentStatus(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [AGENT_STATUS_EXAMPLE]})

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent": "clipper",
                    "config": {"min_clip_s": 2.0, "max_clip_s": 30.0},
                    "defaults": {"min_clip_s": 1.0, "max_clip_s": 60.0},
                }
            ]
        }
    )

    agent: str
    config: dict[str, Any]
    defaults: dict[str, Any]


def _config_variants(schema: dict[str, Any]) -> None:
    """One variant per agent name, with the keys its settings model takes (any subset: they
    are merged over the stored configuration), and one for an agent given by id."""
    variants: list[dict[str, Any]] = []
    for name, model in CONFIG_MODELS.items():
        partial = model.model_json_schema()
        partial.pop("required", None)
        partial.pop("title", None)
        variants.append(
            {
                "title": f"{name} settings",
                "required": ["agent", "config"],
                "properties": {"agent": {"const": name}, "config": partial},
            }
        )
    by_id = {"agent": {"type": "string", "format": "uuid"}, "config": {"type": "object"}}
    variants.append({"title": "An agent by id", "properties": by_id})
    schema["oneOf"] = variants
    schema["examples"] = [{"agent": "scenes", "config": {"threshold": 30.0}}]


class AgentConfigUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra=_config_variants)

    agent: str = Field(
        min_length=1, max_length=64, examples=["scenes"], description="Agent name or id"
    )
    config: dict[str, Any] = Field(examples=[{"threshold": 30.0}])


class AgentRef(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"agent": "clipper", "dry_run": True}]}
    )

    agent: str = Field(
        min_length=1, max_length=64, examples=["clipper"], description="Agent name or id"
    )
    dry_run: bool = False


class AgentPerformance(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent": "scenes",
                    "completed": 120,
                    "failed": 3,
                    "throughput_per_hour": 5.0,
                    "mean_ms": 8400.0,
                    "p95_ms": 21000.0,
                    "error_rate": 0.024,
                }
            ]
        }
    )

    agent: str
    completed: int
    failed: int
    throughput_per_hour: float
    mean_ms: float | None = None
    p95_ms: float | None = None
    error_rate: float | None = Field(description="failed / (completed + failed)")


AGENT_HEALTH_EXAMPLE: dict[str, Any] = {
    "agent": "thumbs",
    "status": "stopped",
    "enabled": False,
    "running": 0,
    "stalled_steps": 0,
    "queue_depth": 7,
    "last_error": "ffmpeg exited with 1",
    "last_error_at": "2026-01-01T09:58:00Z",
}


class AgentHealth(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [AGENT_HEALTH_EXAMPLE]})

    agent: str
    status: Literal["healthy", "stopped", "stalled"]
    enabled: bool
    running: int
    stalled_steps: int
    queue_depth: int
    last_error: str | None = None
    last_error_at: datetime | None = None


class AgentsHealth(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "degraded", "stall_after_s": 120.0, "agents": [AGENT_HEALTH_EXAMPLE]}
            ]
        }
    )

    status: Literal["healthy", "degraded"]
    stall_after_s: float
    agents: list[AgentHealth]


class AgentLogEntry(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-01-01T10:00:05Z",
                    "kind": "step",
                    "level": "error",
                    "message": "attempt 1 failed: ffmpeg exited with 1",
                    "job_id": "0b7e3c52-9a0f-4e8e-8d53-4f3f1f6f2a10",
                    "ref_id": "3c9d5e1f-2a4b-4c6d-8e0f-1a2b3c4d5e6f",
                }
            ]
        }
    )

    at: datetime
    kind: Literal["step", "event"]
    level: str
    message: str
    job_id: uuid.UUID | None = None
    ref_id: uuid.UUID


_PARALLEL = "Clips of one job worked on at once (0: one per CPU)"


class _AgentConfig(RequestModel):
    """Unknown keys refused, JSON types as documented."""


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
    parallel: int = Field(
        default=0, ge=0, le=32, description="Spans of one video decoded at once (0: one per CPU)"
    )


class ClipperConfig(_AgentConfig):
    model_config = ConfigDict(
        json_schema_extra={
            "x-cross-field-rules": [
                {
                    "rule": "less-than",
                    "fields": ["min_clip_s", "max_clip_s"],
                    "merged": True,
                    "description": "min_clip_s < max_clip_s once merged over the stored "
                    "configuration (422 INVALID_AGENT_CONFIG)",
                }
            ]
        }
    )

    min_clip_s: float = Field(gt=0, le=3600)
    max_clip_s: float = Field(gt=0, le=3600)
    reencode_height: int | None = Field(default=None, ge=144, le=4320)
    parallel: int = Field(default=0, ge=0, le=32, description=_PARALLEL)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_clip_s >= self.max_clip_s:
            raise ValueError("min_clip_s must be less than max_clip_s")
        return self


class ThumbsConfig(_AgentConfig):
    width: int = Field(ge=16, le=3840)
    quality: int = Field(ge=1, le=100)
    parallel: int = Field(default=0, ge=0, le=32, description=_PARALLEL)


CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "ingest": IngestConfig,
    "probe": ProbeConfig,
    "scenes": ScenesConfig,
    "clipper": ClipperConfig,
    "thumbs": ThumbsConfig,
    "publish": PublishConfig,
}
