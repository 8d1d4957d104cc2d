"""Payloads and results of the SystemLogs actions (logs, events, audit export)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos.schemas.actions import ActionPayload, DangerousPayload, EventSeverity
from agentos.schemas.events import EventRead

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ExportFormat = Literal["jsonl", "csv"]
PAGE_MAX = 500


class LogFilters(ActionPayload):
    """What logs.search and logs.export select by: the same filters for both."""

    query: str | None = Field(default=None, max_length=200, description="Text in the message")
    level: LogLevel | None = Field(default=None, description="This level and above")
    source: str | None = Field(
        default=None, max_length=64, description="Process: server, worker, beat, cli (a prefix)"
    )
    logger: str | None = Field(default=None, max_length=128, description="Logger name prefix")
    trace_id: str | None = Field(default=None, max_length=64)
    job_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class LogSearchPayload(LogFilters):
    before: str | None = Field(
        default=None,
        max_length=100,
        description="Cursor: next_cursor of the previous page, as it was answered (opaque; "
        "any other value is 422 BAD_CURSOR)",
    )
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)


class LogRecordRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    level: str
    logger: str
    message: str
    source: str
    trace_id: str | None = None
    job_id: uuid.UUID | None = None
    actor: str | None = None
    extra: dict[str, Any] | None = None


class LogSearchResult(BaseModel):
    records: list[LogRecordRead] = Field(description="Newest first")
    next_cursor: str | None = Field(default=None, description="Pass as before; null at the end")


class LogExportPayload(LogFilters):
    format: ExportFormat = "jsonl"


class ExportResult(BaseModel):
    path: str
    count: int
    format: str
    bytes: int


class LogSetLevelPayload(ActionPayload):
    logger: str = Field(
        min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", examples=["agentos"]
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTSET"]


class LogLevels(BaseModel):
    level: str = Field(description="log_level: the agentos loggers' level")
    levels: dict[str, str] = Field(description="Per logger")


class PurgePayload(DangerousPayload):
    older_than_days: int = Field(ge=0, le=3650, examples=[30])


class PurgeResult(BaseModel):
    older_than_days: int
    removed: int
    dry_run: bool = False


class EventListPayload(ActionPayload):
    severity: EventSeverity | None = Field(default=None, description="Exactly this severity")
    min_severity: EventSeverity | None = Field(default=None, description="This one and above")
    query: str | None = Field(default=None, max_length=200, description="Text in the message")
    acknowledged: bool | None = None
    source: str | None = Field(default=None, max_length=64)
    trace_id: str | None = Field(default=None, max_length=64)
    job_id: uuid.UUID | None = None
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)


class EventList(BaseModel):
    events: list[EventRead]


class EventEmitPayload(ActionPayload):
    severity: EventSeverity = "info"
    message: str = Field(min_length=1, max_length=2000, examples=["deploying 2.3.1"])
    job_id: uuid.UUID | None = None


class AuditExportPayload(ActionPayload):
    since: datetime | None = Field(default=None, description="Records at or after this time")
    format: Literal["jsonl"] = Field(
        default="jsonl", description="JSONL with every record's hash and the chain head"
    )


class AuditExportResult(ExportResult):
    from_seq: int | None
    to_seq: int | None
    head_seq: int
    head_hash: str
