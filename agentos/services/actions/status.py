"""`GET /api/admin/action/status`: the catalog, recent attempts, per-action figures, breakers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import ActionStatusRead, BreakerRead
from agentos.services.actions import registry
from agentos.services.backends import breaker
from agentos.services.context import Actor
from agentos.services.runtime import backends_of, runtime_of, settings_of
from agentos.services.security import audit_read, ipallow, roles


def breakers(session: Session) -> list[BreakerRead]:
    return [
        BreakerRead(
            name=item.name,
            state=item.state,
            failures=item.failures,
            opened_at=item.opened_at,
            probes=item.probes,
            forced=item.forced,
        )
        for item in breaker.list_breakers(backends_of(session).breakers)
    ]


def status(
    session: Session, *, actor: Actor, recent: int = 20, window_hours: int = 24
) -> ActionStatusRead:
    """Needs what reading the audit trail needs (it shows recent, scrubbed, audit records)."""
    ipallow.require_allowed(runtime_of(session), actor, session=session)
    roles.require(actor.role, permission="audit:read", action="action.status")
    settings = settings_of(session)
    return ActionStatusRead(
        catalog=registry.catalog(settings),
        recent=audit_read.recent(session, limit=recent),
        stats=audit_read.stats(session, since_hours=window_hours),
        window_hours=window_hours,
        breakers=breakers(session),
    )
