"""Users: accounts, roles, enable/disable, unlock.

Usernames are stored lower-case, so `Alice` and `alice` are one account (and one
lockout subject). Disabling a user or changing its role bumps `token_version`, which every
access token carries, so tokens minted before the change stop working on the next request.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import ApiKey, RefreshToken, User
from agentos.errors import ConflictError, InvalidError, NotFoundError
from agentos.schemas.common import Page, PageParams, Pagination
from agentos.schemas.users import ROLES, USERNAME_PATTERN, UserRead
from agentos.services import events
from agentos.services.security import lockout
from agentos.services.security.passwords import generate_password, hash_password

# Announced when a user's tokens stop working, so every process drops what it cached.
REVOKED_EVENT = "auth.revoked"

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(USERNAME_PATTERN)


def normalize_username(username: str) -> str:
    return username.strip().lower()


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidError(
            f"unknown role {role!r}; expected one of {', '.join(ROLES)}", code="INVALID_ROLE"
        )
    return role


def validate_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidError(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            code="WEAK_PASSWORD",
        )
    return password


def create(
    session: Session,
    *,
    username: str,
    role: str,
    password: str | None = None,
    email: str | None = None,
) -> tuple[UserRead, str | None]:
    """Create a user; returns it and the generated one-time password when none was given."""
    name = normalize_username(username)
    if not _USERNAME.match(name):
        raise InvalidError(
            "username must be 1-64 characters: letters, digits, '_', '.', '@', '-'",
            code="INVALID_USERNAME",
        )
    validate_role(role)
    one_time = None if password is not None else generate_password()
    secret = validate_password(password) if password is not None else one_time
    assert secret is not None
    if _by_username(session, name) is not None:
        raise ConflictError(f"user {name!r} already exists", code="USER_EXISTS")
    user = User(
        username=name,
        email=email.strip() if email else None,
        role=role,
        password_hash=hash_password(secret),
        must_change_password=one_time is not None,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:  # a concurrent create of the same name won the race
        raise ConflictError(f"user {name!r} already exists", code="USER_EXISTS") from exc
    return UserRead.model_validate(user), one_time


def row(session: Session, user_id: uuid.UUID) -> User:
    """The ORM row, for other services only (front ends get `UserRead`)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found", code="USER_NOT_FOUND")
    return user


def row_by_username(session: Session, username: str) -> User | None:
    return _by_username(session, normalize_username(username))


def get(session: Session, user_id: uuid.UUID) -> UserRead | None:
    user = session.get(User, user_id)
    return None if user is None else UserRead.model_validate(user)


def require(session: Session, user_id: uuid.UUID) -> UserRead:
    return UserRead.model_validate(row(session, user_id))


def get_by_username(session: Session, username: str) -> UserRead | None:
    user = row_by_username(session, username)
    return None if user is None else UserRead.model_validate(user)


def find(
    session: Session,
    *,
    page: PageParams,
    role: str | None = None,
    active: bool | None = None,
) -> Page[UserRead]:
    query = select(User)
    if role is not None:
        query = query.where(User.role == validate_role(role))
    if active is not None:
        query = query.where(User.is_active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(User.username).offset(page.offset).limit(page.per_page)
    ).all()
    return Page(
        data=[UserRead.model_validate(user) for user in rows],
        pagination=Pagination.of(page=page.page, per_page=page.per_page, total=total),
    )


def announce_revoked(session: Session, user_id: uuid.UUID) -> None:
    events.announce(session, REVOKED_EVENT, user_id=str(user_id))


def disable(session: Session, *, user_id: uuid.UUID) -> UserRead:
    """The user can no longer log in; its access tokens, refresh tokens and API keys stop
    working (API keys are refused while their owner is disabled)."""
    user = row(session, user_id)
    user.is_active = False
    user.token_version += 1
    _revoke_refresh_tokens(session, user_id)
    session.flush()
    announce_revoked(session, user_id)
    return UserRead.model_validate(user)


def enable(session: Session, *, user_id: uuid.UUID) -> UserRead:
    user = row(session, user_id)
    user.is_active = True
    session.flush()
    return UserRead.model_validate(user)


def set_role(session: Session, *, user_id: uuid.UUID, role: str) -> UserRead:
    """Change the role; tokens carrying the old role are refused from the next request."""
    user = row(session, user_id)
    if user.role != validate_role(role):
        user.role = role
        user.token_version += 1
        session.flush()
        announce_revoked(session, user_id)
    return UserRead.model_validate(user)


def unlock(session: Session, *, user_id: uuid.UUID) -> UserRead:
    """Lift a lockout after failed logins (the account's, not the IP's)."""
    user = row(session, user_id)
    lockout.unlock_user(session, username=user.username)
    session.flush()
    return UserRead.model_validate(user)


def revoke_tokens(session: Session, *, user_id: uuid.UUID) -> tuple[UserRead, int, int]:
    """End every session and revoke every API key of the user; (user, sessions, keys)."""
    user = row(session, user_id)
    user.token_version += 1
    sessions = _revoke_refresh_tokens(session, user_id)
    keys = session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.flush()
    announce_revoked(session, user_id)
    return UserRead.model_validate(user), sessions, int(getattr(keys, "rowcount", 0) or 0)


def _revoke_refresh_tokens(session: Session, user_id: uuid.UUID) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _by_username(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(User.username == name)).first()
