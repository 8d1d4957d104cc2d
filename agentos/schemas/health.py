from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

PartStatus = Literal["up", "down", "embedded"]


class HealthPart(BaseModel):
    status: PartStatus
    required: bool
    latency_ms: float | None = None
    backend: str
    detail: str | None = None


class HealthReport(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    deployment: Literal["embedded", "distributed"]
    parts: dict[str, HealthPart]
