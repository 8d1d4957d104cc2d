"""Reading the log store: search (keyset pages, newest first), export to a file, purge.

Pages are ordered by (created_at, id) descending and continue from a cursor holding the
last record's pair, so page N costs what page 1 costs. On PostgreSQL the message text
search uses the trigram index (migration 0010).
"""

from __future__ import annotations

import csv
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import LogRecord
from agentos.db.patterns import ESCAPE, contains
from agentos.errors import InvalidError
from agentos.schemas.actions_logs import (
    ExportResult,
    LogExportPayload,
    LogFilters,
    LogRecordRead,
    LogSearchPayload,
    LogSearchResult,
)
from agentos.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EXPORT_BATCH = 2000
# A text search without `since` scans one window of this length per page at most.
TEXT_WINDOW = timedelta(hours=24)
CSV_FIELDS = ("created_at", "level", "logger", "source", "trace_id", "job_id", "actor", "message")


def _filters(payload: LogFilters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if payload.level is not None:
        found.append(LogRecord.level.in_(LEVELS[LEVELS.index(payload.level) :]))
    if payload.trace_id:
        found.append(LogRecord.trace_id == payload.trace_id)
    if payload.since is not None:
        found.append(LogRecord.created_at >= payload.since)
    if payload.until is not None:
        found.append(LogRecord.created_at < payload.until)
    if payload.query:
        found.append(LogRecord.message.ilike(contains(payload.query), escape=ESCAPE))
    if payload.source and re.fullmatch(r"[^@]+@[^:]+:\d+", payload.source):
        found.append(LogRecord.source == payload.source)  # one process: its index, in order
    elif payload.source:
        found.append(LogRecord.source.startswith(payload.source, autoescape=True))
    if payload.logger:
        found.append(LogRecord.logger.startswith(payload.logger, autoescape=True))
    if payload.job_id is not None:
        found.append(LogRecord.job_id == payload.job_id)
    return found


def _cursor(record: LogRecord) -> str:
    return f"{record.created_at.astimezone(UTC).isoformat()}|{record.id}"


def _position(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at_text, id_text = cursor.split("|", 1)
        return datetime.fromisoformat(at_text), uuid.UUID(id_text)
    except ValueError:
        raise InvalidError("before: not a cursor this search returned", code="BAD_CURSOR") from None


def _older_than(at: datetime, record_id: uuid.UUID) -> ColumnElement[bool]:
    # The plain bound lets the time index start at the cursor instead of filtering
    # every newer row again on each page.
    return and_(
        LogRecord.created_at <= at,
        or_(LogRecord.created_at < at, and_(LogRecord.created_at == at, LogRecord.id < record_id)),
    )


def find(session: Session, payload: LogSearchPayload) -> LogSearchResult:
    """One page, newest first. A text search without `since` looks at one window
    (`TEXT_WINDOW`) below its position at a time: a page may come back short, with a
    cursor into the next older window, so no page ever scans the whole table."""
    if session.get_bind().dialect.name == "postgresql":
        # A generic plan cannot use the partial level index or a fixed source prefix.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    query = select(LogRecord).where(*_filters(payload))
    top: datetime | None = payload.until
    if payload.before:
        at, record_id = _position(payload.before)
        query = query.where(_older_than(at, record_id))
        top = at
    floor: datetime | None = None
    if payload.query and payload.since is None:
        floor = (top or datetime.now(UTC)) - TEXT_WINDOW
        query = query.where(LogRecord.created_at >= floor)
    ordered = query.order_by(LogRecord.created_at.desc(), LogRecord.id.desc())
    rows = list(session.scalars(ordered.limit(payload.limit + 1)))
    page = rows[: payload.limit]
    next_cursor = _cursor(page[-1]) if len(rows) > payload.limit else None
    if next_cursor is None and floor is not None and _any_older(session, floor):
        next_cursor = f"{floor.astimezone(UTC).isoformat()}|{uuid.UUID(int=0)}"
    return LogSearchResult(
        records=[LogRecordRead.model_validate(row, from_attributes=True) for row in page],
        next_cursor=next_cursor,
    )


def _any_older(session: Session, floor: datetime) -> bool:
    oldest = session.scalar(select(func.min(LogRecord.created_at)))
    return oldest is not None and _aware(oldest) < floor


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _batches(session: Session, payload: LogExportPayload) -> Iterator[list[dict[str, Any]]]:
    """Every matching record, oldest first, a batch at a time, as plain rows (nothing is
    kept in the caller's session, whatever the export's size)."""
    table = LogRecord.__table__
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = select(*table.columns).where(*_filters(payload))
        if after is not None:
            query = query.where(
                LogRecord.created_at >= after[0],
                or_(
                    LogRecord.created_at > after[0],
                    and_(LogRecord.created_at == after[0], LogRecord.id > after[1]),
                ),
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
