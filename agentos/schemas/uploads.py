"""Chunked, resumable upload sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos.schemas.common import ReadModel

UploadStatus = Literal["open", "finalized", "aborted", "failed"]
SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"


class UploadInit(BaseModel):
    filename: str = Field(min_length=1, max_length=255, examples=["match-highlights.mp4"])
    total_size: int = Field(gt=0, examples=[104857600])
    sha256: str = Field(pattern=SHA256_PATTERN, description="SHA-256 of the whole file (hex)")
    chunk_size: int = Field(gt=0, examples=[8388608])


class UploadRead(ReadModel):
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
    upload_id: uuid.UUID
    index: int
    size: int
    duplicate: bool = Field(description="true when this chunk had already been received")
    received_chunks: int
    total_chunks: int


class UploadStatusRead(BaseModel):
    upload: UploadRead
    received_chunks: int
    missing_chunks: list[int] = Field(description="indexes still to send, for resuming")
    complete: bool


class UploadFinalize(BaseModel):
    upload_id: uuid.UUID
    title: str | None = Field(default=None, max_length=255)
    priority: int = Field(default=0, ge=-100, le=100)
    options: dict[str, Any] = Field(default_factory=dict, description="job options")
    create_job: bool = True


class UploadFinalized(BaseModel):
    upload: UploadRead
    job_id: uuid.UUID | None
