"""Who may read the admin views (SSOT, /ws): admin-read roles from an allowed IP.

The read hot path must stay cheap, so `authorize_reader` remembers, per process and for
at most `USER_CACHE_S` seconds (never past the token's expiry), the access tokens it has
verified (a verification costs ~0.3 ms: HMAC plus reading the key) and the users it has
looked up; only a cache miss costs a verification or one primary-key query. The price: disabling a user, changing their role
or revoking their tokens reaches admin reads in this process within `USER_CACHE_S`
seconds (actions call `forget_user()` to make it immediate here). API keys are checked
against the database on every call. The IP allow-list is `ipallow`'s (table cached 5 s).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agentos.db.models import User
from agentos.db.session import session_factory, session_scope
from agentos.errors import ForbiddenError, UnauthenticatedError
from agentos.schemas.auth import AccessClaims
from agentos.services.context import Actor
from agentos.services.security import apikeys, authn, ipallow
from agentos.services.security.tokens import decode_access_token
from agentos.settings import Settings

ADMIN_READ_ROLES = frozenset({"admin", "operator", "supervisor", "readonly"})
USER_CACHE_S = 5.0


@dataclass(frozen=True)
class _CachedUser:
    expires: float
    username: str
    role: str
    is_active: bool
    token_version: int


_users: dict[tuple[str, uuid.UUID], _CachedUser] = {}
_claims: dict[tuple[str, str], tuple[float, AccessClaims]] = {}
_factories: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()
MAX_CACHED_TOKENS = 10_000


def _sessions(settings: Settings) -> sessionmaker[Session]:
    key = settings.resolved_database_url
    factory = _factories.get(key)
    if factory is None:
        factory = _factories[key] = session_factory(settings)
    return factory


def _verified(settings: Settings, token: str) -> AccessClaims:
    key = (settings.resolved_database_url, token)
    now = time.time()
    cached = _claims.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    claims = decode_access_token(settings, token)
    expires = min(now + USER_CACHE_S, claims.exp.timestamp())
    with _lock:
        if len(_claims) >= MAX_CACHED_TOKENS:
            _claims.clear()
        _claims[key] = (expires, claims)
    return claims


def require_admin_reader(session: Session, *, actor: Actor) -> None:
    """ForbiddenError unless `actor` has an admin-read role and calls from an allowed IP."""
    if actor.role not in ADMIN_READ_ROLES:
        raise ForbiddenError(
            f"role {actor.role!r} may not read the admin views",
            code="PERMISSION_DENIED",
            details={"role": actor.role, "allowed": sorted(ADMIN_READ_ROLES)},
        )
    ipallow.require_allowed(session, actor)


def forget_user(user_id: uuid.UUID | None = None) -> None:
    with _lock:
        _claims.clear()
        if user_id is None:
            _users.clear()
        else:
            for key in [key for key in _users if key[1] == user_id]:
                del _users[key]


def _user(settings: Settings, user_id: uuid.UUID) -> _CachedUser | None:
    key = (settings.resolved_database_url, user_id)
    now = time.monotonic()
    with _lock:
        cached = _users.get(key)
    if cached is not None and cached.expires > now:
        return cached
    with _sessions(settings)() as session:
        row = session.execute(
            select(User.username, User.role, User.is_active, User.token_version).where(
                User.id == user_id
            )
        ).first()
    if row is None:
        return None
    cached = _CachedUser(
        now + USER_CACHE_S, row.username, row.role, row.is_active, row.token_version
    )
    with _lock:
        _users[key] = cached
    return cached


def cached_actor(settings: Settings, credential: str) -> Actor | None:
    """The actor behind an access token if both token and user are cached, else None.

    Never does I/O, so an event loop may call it; on None, use `authorize_reader`.
    """
    if apikeys.looks_like_key(credential):
        return None
    now = time.time()
    cached = _claims.get((settings.resolved_database_url, credential))
    if cached is None or cached[0] <= now:
        return None
    claims = cached[1]
    user = _users.get((settings.resolved_database_url, claims.sub))
    if user is None or user.expires <= time.monotonic():
        return None
    if not user.is_active or user.token_version != claims.ver:
        return None  # the slow path raises the precise error
    return Actor(
        name=user.username,
        role=user.role,
        id=claims.sub,
        source="api",
        scopes=frozenset(claims.scopes),
    )


def check_reader(settings: Settings, actor: Actor) -> None:
    """Role and IP of an already authenticated actor (the allow-list table is cached 5 s)."""
    with _sessions(settings)() as session:
        require_admin_reader(session, actor=actor)


def authenticate(settings: Settings, credential: str) -> Actor:
    """The actor behind a bearer credential, with the user lookup cached (see module doc)."""
    if apikeys.looks_like_key(credential):
        with session_scope(settings) as session:
            return apikeys.authenticate(session, credential)
    claims = _verified(settings, credential)
    return authn.actor_for(_user(settings, claims.sub), claims)


def authorize_reader(
    settings: Settings,
    credential: str | None,
    *,
    ip: str | None,
    user_agent: str | None = None,
    trace_id: str | None = None,
) -> Actor:
    """Authenticate and check role and IP: the whole gate of the admin read endpoints."""
    if not credential:
        raise UnauthenticatedError(
            "Authentication required: send Authorization: Bearer <token>", code="AUTH_REQUIRED"
        )
    actor = replace(
        authenticate(settings, credential), ip=ip, user_agent=user_agent, trace_id=trace_id
    )
    # A session that only ever runs a query when the allow-list table cache is stale.
    check_reader(settings, actor)
    return actor
