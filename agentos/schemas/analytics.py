"""The seed's monitoring figures: jobs and per-endpoint latency, throughput, error rates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generated_at": "2026-01-01T10:00:05Z",
                    "jobs": {
                        "total": 45,
                        "by_status": {"queued": 3, "completed": 40, "failed": 2},
                        "throughput_per_hour": [
                            {"hour": "2026-01-01T09:00:00Z", "completed": 4, "failed": 0}
                        ],
                        "error_rate": 0.047,
                        "mean_processing_s": 84.5,
                        "p95_processing_s": 190.0,
                    },
                    "endpoints": [
                        {
                            "method": "GET",
                            "route": "/api/jobs/history",
                            "requests": 1200,
                            "throughput_rps": 0.8,
                            "p50_ms": 6.1,
                            "p95_ms": 14.0,
                            "p99_ms": 31.5,
                            "rate_4xx": 0.01,
                            "rate_5xx": 0.0,
                        }
                    ],
                }
            ]
        }
    )

    generated_at: datetime
    jobs: JobMetrics
    endpoints: list[EndpointMetrics]
