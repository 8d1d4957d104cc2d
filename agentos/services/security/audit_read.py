"""Searching the audit trail: keyset pages over the whole table, newest first.

Records are PII-scrubbed when written, so they are shown as stored. `audit.search` (and
through it every front end, local or remote) reads here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from agentos.db.models import AuditRecord
from agentos.db.patterns import ESCAPE, contains
from agentos.schemas.actions_reads import AuditSearchPayload, AuditSearchResult
from agentos.schemas.audit import ActionOutcomeCount, ActionStats, AuditRecordRead


def search(session: Session, filters: AuditSearchPayload) -> AuditSearchResult:
    """Records matching every given filter, newest first, `filters.limit` at a time."""
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if filters.query and filters.query.strip():
        pattern = contains(filters.query.strip())
        stmt = stmt.where(
            or_(
                AuditRecord.action.ilike(pattern, escape=ESCAPE),
                AuditRecord.actor_name.ilike(pattern, escape=ESCAPE),
                AuditRecord.outcome.ilike(pattern, escape=ESCAPE),
                AuditRecord.trace_id.ilike(pattern, escape=ESCAPE),
            )
        )
    exact = (
        (AuditRecord.actor_name, filters.actor),
        (AuditRecord.action, filters.action),
        (AuditRecord.outcome, filters.outcome),
        (AuditRecord.trace_id, filters.trace_id),
    )
    for column, value in exact:
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.since is not None:
        stmt = stmt.where(AuditRecord.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditRecord.created_at < filters.until)
    if filters.before_seq is not None:
        stmt = stmt.where(AuditRecord.seq < filters.before_seq)
    rows = list(session.scalars(stmt.limit(filters.limit + 1)))
    more = len(rows) > filters.limit
    records = [AuditRecordRead.model_validate(row) for row in rows[: filters.limit]]
    return AuditSearchResult(
        records=records, next_cursor=records[-1].seq if more and records else None
    )


def recent(session: Session, *, limit: int = 20) -> list[AuditRecordRead]:
    rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit))
    return [AuditRecordRead.model_validate(row) for row in rows]


def stats(session: Session, *, since_hours: int = 24) -> list[ActionStats]:
    """Per-action counts by outcome and latency, from two aggregate queries."""
    since = datetime.now(UTC) - timedelta(hours=since_hours)
    window = AuditRecord.created_at >= since
    latency = session.execute(
        select(
            AuditRecord.action,
            func.count(),
            func.avg(AuditRecord.duration_ms),
            func.max(AuditRecord.duration_ms),
            func.max(AuditRecord.created_at),
        )
        .where(window)
        .group_by(AuditRecord.action)
    ).all()
    by_outcome = session.execute(
        select(AuditRecord.action, AuditRecord.outcome, func.count())
        .where(window)
        .group_by(AuditRecord.action, AuditRecord.outcome)
    ).all()
    outcomes: dict[str, list[ActionOutcomeCount]] = {}
    for action, outcome, count in by_outcome:
        outcomes.setdefault(action, []).append(ActionOutcomeCount(outcome=outcome, count=count))
    return [
        ActionStats(
            action=action,
            count=count,
            outcomes=sorted(outcomes.get(action, []), key=lambda item: item.outcome),
            mean_ms=None if mean is None else round(float(mean), 3),
            max_ms=None if peak is None else round(float(peak), 3),
            last_at=_aware(last),
        )
        for action, count, mean, peak, last in sorted(latency)
    ]


def _aware(value: Any) -> datetime | None:
    # func.max() over the column loses the UTCDateTime type on SQLite: it comes back as text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None
