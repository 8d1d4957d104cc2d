"""The job pipeline: jobs, their processing steps (also the per-agent work queue), clips."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from agentos.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow

# The partial indexes' conditions (migration 0013 creates them with the same text).
FAILED_SQL = "status = 'failed'"
RETRY_WAITING_SQL = "status = 'queued' AND attempt > 1"


class Job(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # Dispatch order and the status filters of every list.
        # Status filters list newest first (created_at DESC, id DESC): a backward scan.
        Index("ix_jobs_status_created_at_id", "status", "created_at", "id"),
        # One owner's jobs newest first, a page after a cursor (models/listing.py).
        Index("ix_jobs_owner_id_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_jobs_status_updated_at", "status", "updated_at"),
        Index("ix_jobs_finished_at", "finished_at"),
        # Failed jobs by error code (services/jobs/failed.py): only failed rows, covering.
        Index(
            "ix_jobs_failed_error_code",
            "status",
            "error_code",
            "finished_at",
            "current_stage",
            postgresql_where=text(FAILED_SQL),
            sqlite_where=text(FAILED_SQL),
        ),
    )

    # Indexed with the id, (created_at, id), in models/listing.py (not by itself).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    upload_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("uploads.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    source_path: Mapped[str | None] = mapped_column(String(1024))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    source_size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    current_stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    media_info: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The request that created the job: its steps, messages, logs and events carry it too.
    trace_id: Mapped[str | None] = mapped_column(String(64))


class ProcessingStep(UUIDPrimaryKey, Base):
    """One stage of one job. Queued steps are the agent's queue, claimed by conditional UPDATE."""

    __tablename__ = "processing_steps"
    __table_args__ = (
        UniqueConstraint("job_id", "agent", "attempt"),
        Index(
            "ix_processing_steps_agent_status_priority", "agent", "status", "priority", "created_at"
        ),
        Index("ix_processing_steps_status_heartbeat_at", "status", "heartbeat_at"),
        # An agent's steps over a time window (analytics/agent_hours.py: per hour, covering;
        # agents/figures.py: performance, last error).
        Index(
            "ix_processing_steps_agent_finished_at_status_duration_ms",
            "agent",
            "finished_at",
            "status",
            "duration_ms",
        ),
        # Stage attempts waiting to run again (services/jobs/failed.py): a small slice.
        Index(
            "ix_processing_steps_retry_waiting",
            "status",
            "created_at",
            "job_id",
            "agent",
            "attempt",
            postgresql_where=text(RETRY_WAITING_SQL),
            sqlite_where=text(RETRY_WAITING_SQL),
        ),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    agent: Mapped[str] = mapped_column(
        ForeignKey("agents.name", ondelete="CASCADE", onupdate="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    priority: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    task_id: Mapped[str | None] = mapped_column(String(64))
    # When the message id was reserved, and when the sender confirmed the message left.
    task_reserved_at: Mapped[datetime | None]
    task_sent_at: Mapped[datetime | None]
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # The failure's code (pipeline/failures.classify), so a retry can say why it waits.
    error_code: Mapped[str | None] = mapped_column(String(64))
    output: Mapped[dict[str, Any] | None]
    trace_id: Mapped[str | None] = mapped_column(String(64))


class Clip(UUIDPrimaryKey, Base):
    __tablename__ = "clips"
    # One clip per ordinal: a redelivered clipper task cannot create duplicates.
    __table_args__ = (UniqueConstraint("job_id", "ordinal"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int]
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    duration: Mapped[float] = mapped_column(Float)
    width: Mapped[int | None]
    height: Mapped[int | None]
    fps: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(32))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    path: Mapped[str | None] = mapped_column(String(1024))
    thumbnail_path: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    @property
    def resolution(self) -> str | None:
        if self.width is None or self.height is None:
            return None
        return f"{self.width}x{self.height}"


class Upload(UUIDPrimaryKey, Timestamps, Base):
    """A chunked, resumable upload session."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_owner_id_created_at", "owner_id", "created_at"),
        Index("ix_uploads_status_updated_at", "status", "updated_at"),
    )

    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    total_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    chunk_size: Mapped[int]
    total_chunks: Mapped[int]
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    path: Mapped[str | None] = mapped_column(String(1024))
    expires_at: Mapped[datetime | None]


class UploadChunk(UUIDPrimaryKey, Base):
    __tablename__ = "upload_chunks"
    __table_args__ = (UniqueConstraint("upload_id", "chunk_index"),)

    upload_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"))
    chunk_index: Mapped[int]
    size: Mapped[int]
    # As declared by the client (X-Chunk-SHA256) and checked; None when it declared none.
    sha256: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
