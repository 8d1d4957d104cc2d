"""Payloads and results of the Analytics actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from agentos.schemas.actions import ActionPayload

Metric = Literal["jobs_created", "jobs_finished", "clips_created", "endpoints", "steps"]


class RecomputePayload(ActionPayload):
    since: datetime | None = Field(
        default=None, description="Report the hourly figures corrected since then (default 7 days)"
    )


class RollupCorrection(BaseModel):
    figure: str = Field(description="status:<s>, <basis>:<hour>:<status> or step:<agent>:<s>")
    before: int
    after: int


class RecomputeResult(BaseModel):
    job_rollup_rows: int
    corrections: list[RollupCorrection] = Field(description="What the rebuild changed")
    seconds: float


class AnalyticsExportPayload(ActionPayload):
    metric: Metric
    since: datetime | None = Field(default=None, description="Hourly series from then (7 days)")
    format: Literal["jsonl", "csv"] = "csv"


class SnapshotPayload(ActionPayload):
    label: str | None = Field(default=None, max_length=128)


class SnapshotRead(BaseModel):
    id: uuid.UUID
    label: str | None
    taken_at: datetime
    jobs_total: int
    endpoints: int
    bytes: int


class CountersReset(BaseModel):
    cleared: int
