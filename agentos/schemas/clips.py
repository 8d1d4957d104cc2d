"""Clips as the front ends see them: a cut of a job's video, with its thumbnail."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from agentos.schemas.common import ReadModel


class ClipRead(ReadModel):
    id: uuid.UUID
    job_id: uuid.UUID
    ordinal: int
    start: float = Field(description="Start in the source video, seconds")
    end: float = Field(description="End in the source video, seconds")
    duration: float = Field(description="Seconds")
    width: int | None = None
    height: int | None = None
    resolution: str | None = Field(default=None, examples=["1920x1080"])
    fps: float | None = None
    codec: str | None = None
    size_bytes: int | None = None
    path: str | None = None
    thumbnail_path: str | None = None
    status: str
    created_at: datetime
