"""`GET /api/admin/managers`: users, API keys, the IP allow-list and lockouts at a glance."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentos.db.models import ApiKey, Lockout, User
from agentos.errors import ForbiddenError
from agentos.schemas.actions_managers import LockoutRead, ManagersView
from agentos.schemas.auth import ApiKeyRead
from agentos.schemas.users import UserRead
from agentos.services.actions import denials
from agentos.services.context import Actor
from agentos.services.runtime import runtime_of
from agentos.services.security import ipallow, roles

USERS_SHOWN = 1000
KEYS_SHOWN = 1000


def overview(session: Session, *, actor: Actor) -> ManagersView:
    """Needs `users:read` from an allowed address; a denial is audited."""
    runtime = runtime_of(session)
    try:
        ipallow.require_allowed(runtime, actor, session=session)
        roles.require_permission(actor.role, "users:read")
    except ForbiddenError as error:
        raise denials.audit_read(runtime, actor, "managers", error) from None
    users = session.scalars(select(User).order_by(User.username).limit(USERS_SHOWN))
    keys = session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()).limit(KEYS_SHOWN))
    lockouts = session.scalars(
        select(Lockout).where(Lockout.failures > 0).order_by(Lockout.scope, Lockout.subject)
    )
    return ManagersView(
        users=[UserRead.model_validate(user) for user in users],
        users_total=int(session.scalar(select(func.count()).select_from(User)) or 0),
        api_keys=[ApiKeyRead.model_validate(key) for key in keys],
        ip_allowlist=ipallow.entries(session),
        configured_allowlist=list(runtime.settings.admin_ip_allowlist),
        lockouts=[
            LockoutRead(
                scope=row.scope,
                subject=row.subject,
                failures=row.failures,
                locked_until=row.locked_until,
            )
            for row in lockouts
        ],
    )
