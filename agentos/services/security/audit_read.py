"""Reads for the operator views: the audit trail (searchable) and the runtime settings.

The audit trail is read-only here; records are PII-scrubbed when written, so they are
shown as stored. No `audit.search` action exists yet; when it lands, it should call
`search` so both paths agree.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from agentos.db.models import AuditRecord, RuntimeSetting
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.audit_read import RuntimeSettingRead

MAX_LIMIT = 500


def search(session: Session, *, query: str | None = None, limit: int = 50) -> list[AuditRecordRead]:
    """Newest audit records first; `query` matches action, actor, outcome or trace id."""
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if query and query.strip():
        escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(
            or_(
                AuditRecord.action.ilike(pattern, escape="\\"),
                AuditRecord.actor_name.ilike(pattern, escape="\\"),
                AuditRecord.outcome.ilike(pattern, escape="\\"),
                AuditRecord.trace_id.ilike(pattern, escape="\\"),
            )
        )
    rows = session.scalars(stmt.limit(max(1, min(limit, MAX_LIMIT))))
    return [AuditRecordRead.model_validate(row) for row in rows]


def runtime_settings(session: Session) -> list[RuntimeSettingRead]:
    rows = session.scalars(select(RuntimeSetting).order_by(RuntimeSetting.key))
    return [RuntimeSettingRead.model_validate(row) for row in rows]
