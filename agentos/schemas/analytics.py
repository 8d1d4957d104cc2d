"""The seed's monitoring figures: jobs and per-endpoint latency, throughput, error rates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class HourlyPoint(BaseModel):
    hour: datetime
    completed: int
    failed: int


class JobMetrics(BaseModel):
    total: int
    by_status: dict[str, int]
    throughput_per_hour: list[HourlyPoint] = Field(description="Last 24 h, oldest first")
    error_rate: float | None = Field(description="failed / finished, last 24 h")
    mean_processing_s: float | None
    p95_processing_s: float | None


class EndpointMetrics(BaseModel):
    method: str
    route: str
    requests: int
    throughput_rps: float = Field(description="Requests per second over the last 5 minutes")
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    rate_4xx: float
    rate_5xx: float


class AnalyticsMetrics(BaseModel):
    generated_at: datetime
    jobs: JobMetrics
    endpoints: list[EndpointMetrics]
