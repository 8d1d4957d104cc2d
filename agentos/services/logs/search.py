"""Reading the log store: search (keyset pages, newest first), export to a file, purge.

Pages are ordered by (created_at, id) descending and continue from a cursor holding the
last record's pair, so page N costs what page 1 costs. On PostgreSQL the message text
search uses the trigram index (migration 0010).
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import LogRecord
from agentos.errors import InvalidError
from agentos.schemas.actions_logs import (
    ExportResult,
    LogExportPayload,
    LogRecordRead,
    LogSearchPayload,
    LogSearchResult,
)
from agentos.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EXPORT_BATCH = 2000
CSV_FIELDS = ("created_at", "level", "logger", "source", "trace_id", "job_id", "actor", "message")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(payload: LogSearchPayload | LogExportPayload) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if payload.level is not None:
        found.append(LogRecord.level.in_(LEVELS[LEVELS.index(payload.level) :]))
    if payload.trace_id:
        found.append(LogRecord.trace_id == payload.trace_id)
    if payload.since is not None:
        found.append(LogRecord.created_at >= payload.since)
    if payload.until is not None:
        found.append(LogRecord.created_at < payload.until)
    if isinstance(payload, LogSearchPayload):
        if payload.query:
            found.append(LogRecord.message.ilike(_like(payload.query), escape="\\"))
        if payload.source:
            found.append(LogRecord.source.startswith(payload.source, autoescape=True))
        if payload.logger:
            found.append(LogRecord.logger.startswith(payload.logger, autoescape=True))
        if payload.job_id is not None:
            found.append(LogRecord.job_id == payload.job_id)
    return found


def _cursor(record: LogRecord) -> str:
    return f"{record.created_at.astimezone(UTC).isoformat()}|{record.id}"


def _after(cursor: str) -> ColumnElement[bool]:
    try:
        at_text, id_text = cursor.split("|", 1)
        at, record_id = datetime.fromisoformat(at_text), uuid.UUID(id_text)
    except ValueError:
        raise InvalidError("before: not a cursor this search returned", code="BAD_CURSOR") from None
    return or_(
        LogRecord.created_at < at, and_(LogRecord.created_at == at, LogRecord.id < record_id)
    )


def find(session: Session, payload: LogSearchPayload) -> LogSearchResult:
    query = select(LogRecord).where(*_filters(payload))
    if payload.before:
        query = query.where(_after(payload.before))
    rows = list(
        session.scalars(
            query.order_by(LogRecord.created_at.desc(), LogRecord.id.desc()).limit(
                payload.limit + 1
            )
        )
    )
    page = rows[: payload.limit]
    return LogSearchResult(
        records=[LogRecordRead.model_validate(row, from_attributes=True) for row in page],
        next_cursor=_cursor(page[-1]) if len(rows) > payload.limit else None,
    )


def _batches(session: Session, payload: LogExportPayload) -> Iterator[list[dict[str, Any]]]:
    """Every matching record, oldest first, a batch at a time, as plain rows (nothing is
    kept in the caller's session, whatever the export's size)."""
    table = LogRecord.__table__
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = select(*table.columns).where(*_filters(payload))
        if after is not None:
            query = query.where(
                or_(
                    LogRecord.created_at > after[0],
                    and_(LogRecord.created_at == after[0], LogRecord.id > after[1]),
                )
            )
        ordered = query.order_by(LogRecord.created_at, LogRecord.id).limit(EXPORT_BATCH)
        rows = [dict(row) for row in session.execute(ordered).mappings()]
        if not rows:
            return
        yield rows
        after = (rows[-1]["created_at"], rows[-1]["id"])


def exports_dir(settings: Settings) -> Path:
    directory = settings.home_dir / "exports"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return LogRecordRead.model_validate(record).model_dump(mode="json")


def export(session: Session, *, settings: Settings, payload: LogExportPayload) -> ExportResult:
    """Matching records to `exports/logs-<time>.<format>` (mode 0600), oldest first."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = exports_dir(settings) / f"logs-{stamp}-{uuid.uuid4().hex[:6]}.{payload.format}"
    count = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        if payload.format == "csv":
            writer.writeheader()
        for batch in _batches(session, payload):
            for record in batch:
                row = _row(record)
                if payload.format == "csv":
                    writer.writerow(row)
                else:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += len(batch)
    return ExportResult(
        path=str(path), count=count, format=payload.format, bytes=path.stat().st_size
    )


def purge(session: Session, *, older_than_days: int, dry_run: bool) -> int:
    cutoff = utcnow() - timedelta(days=older_than_days)
    if dry_run:
        query = select(func.count()).where(LogRecord.created_at < cutoff)
        return int(session.scalar(query) or 0)
    removed = session.execute(delete(LogRecord).where(LogRecord.created_at < cutoff))
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]
