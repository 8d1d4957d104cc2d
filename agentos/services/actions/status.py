"""`GET /api/admin/action/status`: the catalog, recent attempts, per-action figures, breakers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.errors import ForbiddenError
from agentos.schemas.actions import ActionInfo, ActionStatusRead
from agentos.services.actions import denials, registry
from agentos.services.context import Actor
from agentos.services.runtime import runtime_of, settings_of
from agentos.services.security import audit_read, ipallow, roles
from agentos.services.system import controls
from agentos.settings import Settings


def catalog_for(settings: Settings, role: str) -> list[ActionInfo]:
    """The catalog with what `role` may run marked (front ends show only those buttons)."""
    return [
        entry.model_copy(
            update={"allowed": roles.may_run(role, permission=entry.permission, action=entry.name)}
        )
        for entry in registry.catalog(settings)
    ]


def status(
    session: Session, *, actor: Actor, recent: int = 20, window_hours: int = 24
) -> ActionStatusRead:
    """Needs what reading the audit trail needs (it shows recent, scrubbed, audit records);
    a denial is audited."""
    runtime = runtime_of(session)
    try:
        ipallow.require_allowed(runtime, actor, session=session)
        roles.require(actor.role, permission="audit:read", action="action.status")
    except ForbiddenError as error:
        raise denials.audit_read(runtime, actor, "action.status", error) from None
    return ActionStatusRead(
        catalog=catalog_for(settings_of(session), actor.role),
        recent=audit_read.recent(session, limit=recent),
        stats=audit_read.stats(session, since_hours=window_hours),
        window_hours=window_hours,
        breakers=controls.breakers(runtime),
    )
