"""Authentication: login, refresh-token rotation, bearer credentials, script tokens.

Refresh tokens are opaque (`rt_...`), stored as SHA-256 digests, grouped in a family per
login and rotated on every use. Presenting a token that was already rotated means it was
copied: the whole family is revoked and a security event is written.

A failed login and a detected refresh-token reuse must be remembered even though the
request fails, so those paths mark the session with `keep_on_error()`; the HTTP boundary
commits such a session instead of rolling it back.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, literal, select, update
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import RefreshToken, User
from agentos.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    UnauthenticatedError,
)
from agentos.schemas.auth import AccessClaims, AccessToken, TokenPair
from agentos.services import events
from agentos.services.context import Actor
from agentos.services.runtime import settings_of
from agentos.services.security import apikeys, lockout, users
from agentos.services.security.passwords import (
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from agentos.services.security.tokens import decode_access_token, issue_access_token

KEEP_ON_ERROR = "agentos.keep_on_error"
REFRESH_PREFIX = "rt_"
INVALID_CREDENTIALS = "Invalid username or password"
# Announced when tokens stop being valid before they expire (a revoked login, a disabled
# user): every process drops its cached verifications of them.
REVOKED_EVENT = users.REVOKED_EVENT


def keep_on_error(session: Session) -> None:
    """Ask the boundary to commit this session even though an error is being raised."""
    session.info[KEEP_ON_ERROR] = True


def login(session: Session, *, username: str, password: str, ip: str | None = None) -> TokenPair:
    """Tokens for valid credentials; one answer (INVALID_CREDENTIALS) for every failure."""
    user = users.row_by_username(session, username)
    if lockout.is_locked(session, username=username, ip=ip):
        dummy_verify(password)
        raise UnauthenticatedError(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")
    if user is None or user.password_hash is None:
        dummy_verify(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password) and user.is_active
    if not ok or user is None:
        lockout.record_failure(session, username=username, ip=ip)
        keep_on_error(session)
        raise UnauthenticatedError(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")
    lockout.record_success(session, username=username)
    if user.password_hash is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return _issue_pair(session, user, family_id=uuid.uuid4())


def refresh(session: Session, *, refresh_token: str) -> TokenPair:
    """Rotate a refresh token: the presented one is spent, a new pair is returned."""
    now = utcnow()
    token = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
    ).first()
    if token is None:
        raise UnauthenticatedError("Invalid refresh token", code="TOKEN_INVALID")
    if token.rotated_at is not None:
        _revoke_family(session, token, reason="reuse")
        raise UnauthenticatedError("Refresh token already used", code="REFRESH_TOKEN_REUSED")
    if token.revoked_at is not None:
        raise UnauthenticatedError("Refresh token revoked", code="TOKEN_REVOKED")
    if token.expires_at <= now:
        raise UnauthenticatedError("Refresh token expired", code="TOKEN_EXPIRED")
    # Conditional update: of two concurrent uses of one token, exactly one rotates it.
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)
    )
    if not getattr(spent, "rowcount", 0):
        _revoke_family(session, token, reason="concurrent reuse")
        raise UnauthenticatedError("Refresh token already used", code="REFRESH_TOKEN_REUSED")
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise UnauthenticatedError("User is disabled", code="USER_DISABLED")
    return _issue_pair(session, user, family_id=token.family_id)


def authenticate(session: Session, raw: str) -> Actor:
    """The actor behind a bearer credential: an access JWT or an API key."""
    if apikeys.looks_like_key(raw):
        return apikeys.authenticate(session, raw)
    claims = decode_access_token(settings_of(session), raw)
    return actor_for(account(session, claims), claims)


@dataclass(frozen=True)
class Account:
    """What a token is checked against, read in one statement."""

    username: str
    role: str
    is_active: bool
    token_version: int
    must_change_password: bool
    login_revoked: bool


def account(session: Session, claims: AccessClaims) -> Account | None:
    """The token's user, and whether the login the token came from was revoked."""
    revoked = (
        exists().where(RefreshToken.family_id == claims.fam, RefreshToken.revoked_at.is_not(None))
        if claims.fam is not None
        else literal(False)
    )
    row = session.execute(
        select(
            User.username,
            User.role,
            User.is_active,
            User.token_version,
            User.must_change_password,
            revoked,
        ).where(User.id == claims.sub)
    ).first()
    return None if row is None else Account(*row)


def actor_for(user: Account | None, claims: AccessClaims) -> Actor:
    """The actor of a verified access token, if its user is still active and neither the
    user's tokens nor the token's login were revoked."""
    if user is None or not user.is_active:
        raise UnauthenticatedError("User is disabled or gone", code="USER_DISABLED")
    if user.token_version != claims.ver or user.login_revoked:
        raise UnauthenticatedError("Access token revoked; log in again", code="TOKEN_REVOKED")
    if user.must_change_password and claims.fam is not None:  # a login's tokens, not minted ones
        raise ForbiddenError(
            "this login used a one-time password: change it first (POST /api/auth/password, "
            "or `agentos users passwd`)",
            code="PASSWORD_CHANGE_REQUIRED",
        )
    return Actor(
        name=user.username,
        role=user.role,
        id=claims.sub,
        source="api",
        scopes=frozenset(claims.scopes),
    )


def change_password(session: Session, *, access_token: str, current: str, new: str) -> TokenPair:
    """The holder of an access token (even one issued for a one-time password) replaces the
    password: every other session and token of the user ends, and a new login begins."""
    claims = decode_access_token(settings_of(session), access_token)
    user = session.get(User, claims.sub, with_for_update=True)
    if user is None or not user.is_active or user.token_version != claims.ver:
        raise UnauthenticatedError("Access token revoked; log in again", code="TOKEN_REVOKED")
    if user.password_hash is None or not verify_password(user.password_hash, current):
        raise UnauthenticatedError("The current password is wrong", code="INVALID_CREDENTIALS")
    if new == current:
        raise InvalidError("the new password must differ from the old", code="WEAK_PASSWORD")
    user.password_hash = hash_password(users.validate_password(new))
    user.must_change_password = False
    user.token_version += 1
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    users.announce_revoked(session, user.id)
    return _issue_pair(session, user, family_id=uuid.uuid4())


def mint_token(
    session: Session, *, username: str, actor: Actor, ttl_s: int | None = None
) -> AccessToken:
    """An access token for a script (`agentos token NAME`), recorded as a security event."""
    settings = settings_of(session)
    ttl = settings.access_token_ttl_s if ttl_s is None else ttl_s
    if ttl < 1:
        raise InvalidError("--ttl must be at least 1 second", code="INVALID_TTL")
    user = users.row_by_username(session, username)
    if user is None:
        raise NotFoundError(f"user {username!r} not found", code="USER_NOT_FOUND")
    if not user.is_active:
        raise ConflictError(f"user {user.username!r} is disabled", code="USER_DISABLED")
    token = issue_access_token(
        settings,
        user_id=user.id,
        username=user.username,
        role=user.role,
        token_version=user.token_version,
        ttl_s=ttl,
    )
    events.emit(
        session,
        severity="info",
        source="security",
        kind="token_minted",
        message=f"Access token for {user.username!r} ({user.role}, {ttl} s) minted by {actor.name}",
        details={"user_id": str(user.id), "ttl_s": ttl, "by": actor.name, "via": actor.source},
    )
    return AccessToken(access_token=token, expires_in=ttl, username=user.username, role=user.role)


def _issue_pair(session: Session, user: User, *, family_id: uuid.UUID) -> TokenPair:
    settings = settings_of(session)
    raw = REFRESH_PREFIX + secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=_digest(raw),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    session.flush()
    access = issue_access_token(
        settings,
        user_id=user.id,
        username=user.username,
        role=user.role,
        token_version=user.token_version,
        family_id=family_id,
    )
    return TokenPair(
        access_token=access,
        refresh_token=raw,
        expires_in=settings.access_token_ttl_s,
        refresh_expires_in=settings.refresh_token_ttl_s,
        must_change_password=user.must_change_password,
    )


def _revoke_family(session: Session, token: RefreshToken, *, reason: str) -> None:
    now = utcnow()
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == token.family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    events.emit(
        session,
        severity="warning",
        source="security",
        kind="refresh_token_reuse",
        message=f"Refresh token {reason} detected; token family revoked",
        details={
            "user_id": str(token.user_id),
            "family_id": str(token.family_id),
            "revoked": int(getattr(result, "rowcount", 0) or 0),
        },
    )
    # Every process drops what it cached of this login's tokens (admin_access).
    events.announce(
        session, REVOKED_EVENT, user_id=str(token.user_id), family_id=str(token.family_id)
    )
    keep_on_error(session)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
