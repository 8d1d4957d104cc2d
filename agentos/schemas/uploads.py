"""Chunked, resumable upload sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentos.schemas.common import ReadModel, RequestModel
from agentos.schemas.jobs import JobOptions

UploadStatus = Literal["open", "finalized", "aborted", "failed"]
SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"
# Hard bounds of the stored columns (chunk_size is a 32-bit INTEGER); the configured upload
# limits, checked by the service, are far lower.
MAX_FILE_BYTES = 2**53
MAX_CHUNK_BYTES = 2**31 - 1


SHA256_EXAMPLE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
UPLOAD_ID_EXAMPLE = "5f0c6c1e-8d2a-4f7e-9a53-2b1d9c0e4a11"
UPLOAD_EXAMPLE: dict[str, Any] = {
    "id": UPLOAD_ID_EXAMPLE,
    "owner_id": "9d1b2f0e-3c4a-4b5d-8e6f-7a8b9c0d1e2f",
    "filename": "match-highlights.mp4",
    "total_size": 104857600,
    "sha256": SHA256_EXAMPLE,
    "chunk_size": 8388608,
    "total_chunks": 13,
    "received_bytes": 16777216,
    "status": "open",
    "created_at": "2026-01-01T10:00:00Z",
    "updated_at": "2026-01-01T10:00:03Z",
    "expires_at": "2026-01-02T10:00:00Z",
}


class UploadInit(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "filename": "match-highlights.mp4",
                    "total_size": 104857600,
                    "sha256": SHA256_EXAMPLE,
                    "chunk_size": 8388608,
                }
            ]
        }
    )

    filename: str = Field(min_length=1, max_length=255, examples=["match-highlights.mp4"])
    total_size: int = Field(gt=0, le=MAX_FILE_BYTES, examples=[104857600])
    sha256: str = Field(pattern=SHA256_PATTERN, description="SHA-256 of the whole file (hex)")
    chunk_size: int = Field(
        gt=0,
        le=MAX_CHUNK_BYTES,
        examples=[8388608],
        description="Bytes per chunk wished for: the server keeps it within its limits "
        "(64 KiB-32 MiB by default) and answers the chunk_size to send",
    )


class UploadRead(ReadModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [UPLOAD_EXAMPLE]}
    )

    id: uuid.UUID
    owner_id: uuid.UUID | None
    filename: str
    total_size: int
    sha256: str
    chunk_size: int
    total_chunks: int
    received_bytes: int
    status: UploadStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


class ChunkReceipt(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "upload_id": UPLOAD_ID_EXAMPLE,
                    "index": 2,
                    "size": 8388608,
                    "duplicate": False,
                    "received_chunks": 3,
                    "total_chunks": 13,
                }
            ]
        }
    )

    upload_id: uuid.UUID
    index: int
    size: int
    duplicate: bool = Field(description="true when this chunk had already been received")
    received_chunks: int
    total_chunks: int


class UploadStatusRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "upload": UPLOAD_EXAMPLE,
                    "received_chunks": 2,
                    "missing_chunks": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
                    "complete": False,
                }
            ]
        }
    )

    upload: UploadRead
    received_chunks: int
    missing_chunks: list[int] = Field(description="indexes still to send, for resuming")
    complete: bool


class UploadFinalize(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "upload_id": UPLOAD_ID_EXAMPLE,
                    "title": "Cup final highlights",
                    "priority": 0,
                    "options": {"min_clip_s": 2.0, "max_clip_s": 30.0},
                    "create_job": True,
                }
            ]
        }
    )

    upload_id: uuid.UUID
    title: str | None = Field(default=None, max_length=255)
    priority: int = Field(default=0, ge=-100, le=100)
    options: JobOptions = Field(
        default_factory=JobOptions, description="The job's options (validated here, not later)"
    )
    create_job: bool = True


class UploadFinalized(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "upload": {
                        **UPLOAD_EXAMPLE,
                        "status": "finalized",
                        "received_bytes": 104857600,
                    },
                    "job_id": "0b7e3c52-9a0f-4e8e-8d53-4f3f1f6f2a10",
                }
            ]
        }
    )

    upload: UploadRead
    job_id: uuid.UUID | None
