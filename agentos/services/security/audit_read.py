"""Searching the audit trail: keyset pages over the whole table, newest first.

Records are PII-scrubbed when written, so they are shown as stored. `audit.search` (and
through it every front end, local or remote) reads here.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from agentos.db.models import AuditRecord
from agentos.schemas.actions_reads import AuditSearchPayload, AuditSearchResult
from agentos.schemas.audit import AuditRecordRead


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, filters: AuditSearchPayload) -> AuditSearchResult:
    """Records matching every given filter, newest first, `filters.limit` at a time."""
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if filters.query and filters.query.strip():
        pattern = _like(filters.query.strip())
        stmt = stmt.where(
            or_(
                AuditRecord.action.ilike(pattern, escape="\\"),
                AuditRecord.actor_name.ilike(pattern, escape="\\"),
                AuditRecord.outcome.ilike(pattern, escape="\\"),
                AuditRecord.trace_id.ilike(pattern, escape="\\"),
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
