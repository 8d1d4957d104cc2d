"""Clips as the front ends see them: a cut of a job's video, with its thumbnail."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from agentos.schemas.common import ReadModel


class ClipRead(ReadModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "6a3f1d2e-0b4c-4d5e-8f60-718293a4b5c6",
                    "job_id": "0b7e3c52-9a0f-4e8e-8d53-4f3f1f6f2a10",
                    "ordinal": 0,
                    "start": 0.0,
                    "end": 4.2,
                    "duration": 4.2,
                    "width": 1920,
                    "height": 1080,
                    "resolution": "1920x1080",
                    "fps": 25.0,
                    "codec": "h264",
                    "size_bytes": 1048576,
                    "status": "ready",
                    "created_at": "2026-01-01T10:01:00Z",
                }
            ]
        },
    )

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
