from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

PartStatus = Literal["up", "down", "embedded"]


class HealthPart(BaseModel):
    status: PartStatus
    required: bool
    latency_ms: float | None = Field(default=None, description="Admin readers only")
    backend: str | None = Field(default=None, description="Admin readers only")
    detail: str | None = Field(default=None, description="Why it is down (admin readers only)")


class MaintenanceState(BaseModel):
    """Maintenance mode (system.maintenance.enable): user writes answer 503 while on."""

    enabled: bool
    message: str | None = None
    retry_after_s: int | None = None
    since: datetime | None = None
    by: str | None = None


class HealthReport(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    deployment: Literal["embedded", "distributed"]
    parts: dict[str, HealthPart]
    maintenance: MaintenanceState = Field(default_factory=lambda: MaintenanceState(enabled=False))

    def public(self) -> HealthReport:
        """What anyone may see: each part's name and state, nothing about the machinery."""
        parts = {
            name: HealthPart(status=part.status, required=part.required)
            for name, part in self.parts.items()
        }
        shown = MaintenanceState(enabled=self.maintenance.enabled, message=self.maintenance.message)
        return self.model_copy(update={"parts": parts, "maintenance": shown})


class UnhealthyEnvelope(BaseModel):
    """`GET /health` when a required part is down (503): the error envelope with the report."""

    success: bool = False
    error: str
    error_code: str = Field(examples=["UNHEALTHY"])
    data: HealthReport
    timestamp: datetime
    response_time_ms: float
