"""API keys for scripts and external agents: `ak_<prefix>_<secret>`, shown once.

Only a SHA-256 digest of the whole key is stored; the key has 256 bits of randomness, so
a fast digest is enough (a slow password hash protects low-entropy secrets). The public
prefix finds the row; the digest comparison is constant-time.

Scopes narrow what a key may do: an empty list means the owner's role applies in full;
`agent` lets an external pipeline agent report job status.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import ApiKey, User
from agentos.errors import InvalidError, NotFoundError, UnauthenticatedError
from agentos.schemas.auth import ApiKeyRead
from agentos.services.context import Actor

KEY_PREFIX = "ak_"
AGENT_SCOPE = "agent"
_SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_KEY = re.compile(r"^ak_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})$")
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def looks_like_key(raw: str) -> bool:
    return raw.startswith(KEY_PREFIX)


def well_formed(raw: str) -> bool:
    """The shape of a key this server issues (its validity needs the database)."""
    return _KEY.match(raw) is not None


def create(
    session: Session,
    *,
    user_id: uuid.UUID,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKeyRead, str]:
    """A new key for the user; returns it and the secret, which is never shown again."""
    if session.get(User, user_id) is None:
        raise NotFoundError(f"user {user_id} not found", code="USER_NOT_FOUND")
    clean_name = name.strip()
    if not 1 <= len(clean_name) <= 100:
        raise InvalidError("API key name must be 1-100 characters", code="INVALID_NAME")
    bad = [scope for scope in scopes if not _SCOPE.match(scope)]
    if bad:
        raise InvalidError(f"invalid scope(s): {', '.join(bad)}", code="INVALID_SCOPE")
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        user_id=user_id,
        name=clean_name,
        prefix=prefix,
        key_hash=_digest(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return ApiKeyRead.model_validate(key), secret


def revoke(session: Session, *, key_id: uuid.UUID) -> ApiKeyRead:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"API key {key_id} not found", code="API_KEY_NOT_FOUND")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return ApiKeyRead.model_validate(key)


def find(session: Session, *, user_id: uuid.UUID | None = None) -> list[ApiKeyRead]:
    query = select(ApiKey).order_by(ApiKey.created_at)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return [ApiKeyRead.model_validate(key) for key in session.scalars(query)]


def authenticate(session: Session, raw: str) -> Actor:
    """The actor behind a key, or UnauthenticatedError (API_KEY_INVALID / API_KEY_REVOKED)."""
    match = _KEY.match(raw)
    key = None
    if match is not None:
        key = session.scalars(select(ApiKey).where(ApiKey.prefix == match.group(1))).first()
    if key is None or not hmac.compare_digest(key.key_hash, _digest(raw)):
        raise UnauthenticatedError("Invalid API key", code="API_KEY_INVALID")
    now = utcnow()
    if key.revoked_at is not None:
        raise UnauthenticatedError("API key revoked", code="API_KEY_REVOKED")
    if key.expires_at is not None and key.expires_at <= now:
        raise UnauthenticatedError("API key expired", code="API_KEY_EXPIRED")
    user = session.get(User, key.user_id)
    if user is None or not user.is_active:
        raise UnauthenticatedError("API key owner is disabled", code="USER_DISABLED")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
        session.flush()
    return Actor(
        name=user.username,
        role=user.role,
        id=user.id,
        source="api",
        scopes=frozenset(key.scopes or ()),
    )


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
