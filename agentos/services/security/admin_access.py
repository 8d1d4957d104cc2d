"""Who may read the admin views (SSOT, /ws) and the cached authentication of admin paths.

The read hot path must stay cheap, so `authorize_reader` remembers, per runtime and for
at most `USER_CACHE_S` seconds (never past the token's expiry), the access tokens it has
verified (a verification costs ~0.3 ms: HMAC plus reading the key) and the users it has
looked up; only a cache miss costs a verification or one primary-key query. The price:
disabling a user, changing their role or revoking their tokens reaches admin reads in
this process within `USER_CACHE_S` seconds (actions call `forget_user(runtime)` to make it
immediate here). API keys are checked against the database on every call. The IP
allow-list is `ipallow`'s (table cached 5 s).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

from agentos.errors import ForbiddenError, UnauthenticatedError
from agentos.schemas.auth import AccessClaims
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.security import apikeys, authn, ipallow, roles
from agentos.services.security.tokens import decode_access_token

USER_CACHE_S = 5.0
MAX_CACHED_TOKENS = 10_000


AccountKey = tuple[uuid.UUID, uuid.UUID | None]  # (user, login)


class AccessCache:
    """Verified access tokens and the accounts behind them, for one runtime."""

    def __init__(self) -> None:
        self.accounts: dict[AccountKey, tuple[float, authn.Account | None]] = {}
        self.claims: dict[str, tuple[float, AccessClaims]] = {}
        self.lock = threading.Lock()

    def forget(self, user_id: uuid.UUID | None = None) -> None:
        with self.lock:
            self.claims.clear()
            if user_id is None:
                self.accounts.clear()
            else:
                for key in [key for key in self.accounts if key[0] == user_id]:
                    del self.accounts[key]


def _cache(runtime: Runtime) -> AccessCache:
    return runtime.component(AccessCache, AccessCache)


def _verified(runtime: Runtime, token: str) -> AccessClaims:
    cache, now = _cache(runtime), time.time()
    cached = cache.claims.get(token)
    if cached is not None and cached[0] > now:
        return cached[1]
    claims = decode_access_token(runtime.settings, token)
    expires = min(now + USER_CACHE_S, claims.exp.timestamp())
    with cache.lock:
        if len(cache.claims) >= MAX_CACHED_TOKENS:
            cache.claims.clear()
        cache.claims[token] = (expires, claims)
    return claims


def verify_credential(runtime: Runtime, credential: str) -> None:
    """UnauthenticatedError unless `credential` is a well-formed API key or an access token
    with a valid signature that has not expired. No I/O once the token has been seen: the
    edge of the server asks this before it reads a request body."""
    if apikeys.looks_like_key(credential):
        if not apikeys.well_formed(credential):
            raise UnauthenticatedError("Invalid API key", code="INVALID_API_KEY")
        return
    _verified(runtime, credential)


def forget_user(runtime: Runtime, user_id: uuid.UUID | None = None) -> None:
    _cache(runtime).forget(user_id)


def handle_change(runtime: Runtime, change: dict[str, object]) -> None:
    """A change announced by any process: a revoked login or user drops what this runtime
    cached of them, so the next request is checked against the database."""
    if change.get("kind") != authn.REVOKED_EVENT:
        return
    user_id = change.get("user_id")
    try:
        forget_user(runtime, uuid.UUID(str(user_id)) if user_id else None)
    except ValueError:
        forget_user(runtime)


def _account(runtime: Runtime, claims: AccessClaims) -> authn.Account | None:
    cache, now = _cache(runtime), time.monotonic()
    key = (claims.sub, claims.fam)
    cached = cache.accounts.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    with runtime.read_session() as session:
        found = authn.account(session, claims)
    with cache.lock:
        cache.accounts[key] = (now + USER_CACHE_S, found)
    return found


def cached_actor(
    runtime: Runtime,
    credential: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    trace_id: str | None = None,
) -> Actor | None:
    """The actor behind an access token if both token and user are cached, else None.

    Never does I/O, so an event loop may call it; on None, use `authorize_reader`.
    """
    if apikeys.looks_like_key(credential):
        return None
    cache = _cache(runtime)
    cached = cache.claims.get(credential)
    if cached is None or cached[0] <= time.time():
        return None
    claims = cached[1]
    entry = cache.accounts.get((claims.sub, claims.fam))
    if entry is None or entry[0] <= time.monotonic():
        return None
    user = entry[1]
    if user is None or not user.is_active or user.token_version != claims.ver:
        return None  # the slow path raises the precise error
    if user.login_revoked or (user.must_change_password and claims.fam is not None):
        return None
    return Actor(
        name=user.username,
        role=user.role,
        id=claims.sub,
        source="api",
        ip=ip,
        user_agent=user_agent,
        trace_id=trace_id,
        scopes=frozenset(claims.scopes),
    )


class ReadForbiddenError(ForbiddenError):
    """An authenticated caller refused an admin read; carries who, so it can be audited."""

    def __init__(self, error: ForbiddenError, actor: Actor) -> None:
        super().__init__(error.message, code=error.code, details=error.details)
        self.actor = actor


def check_reader(runtime: Runtime, actor: Actor) -> None:
    """Role and IP of an already authenticated actor (the allow-list table is cached 5 s)."""
    try:
        roles.require_permission(actor.role, roles.ADMIN_READ)
        ipallow.require_allowed(runtime, actor)
    except ForbiddenError as error:
        raise ReadForbiddenError(error, actor) from None


def authenticate(runtime: Runtime, credential: str) -> Actor:
    """The actor behind a bearer credential, with the user lookup cached (see module doc)."""
    if apikeys.looks_like_key(credential):
        with runtime.session() as session:
            return apikeys.authenticate(session, credential)
    claims = _verified(runtime, credential)
    return authn.actor_for(_account(runtime, claims), claims)


def authorize_reader(
    runtime: Runtime,
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
        authenticate(runtime, credential), ip=ip, user_agent=user_agent, trace_id=trace_id
    )
    check_reader(runtime, actor)
    return actor
