"""Users and script tokens for the front ends.

There is no HTTP endpoint for these (the seed's endpoint budget goes to the user API; the
admin views manage users through the `user.*` admin actions), so they run locally, on
the home or database this machine is configured for.
"""

from __future__ import annotations

from agentos.client.connection import Connection
from agentos.errors import InvalidError
from agentos.schemas.auth import AccessToken
from agentos.schemas.common import Page, PageParams
from agentos.schemas.users import UserCreated, UserRead
from agentos.services.security import authn, users


def _local_only(conn: Connection, what: str, hint: str) -> None:
    if not conn.local:
        raise InvalidError(
            f"{what} works only locally (no HTTP endpoint): run it without --server on the "
            f"server's host{hint}",
            code="LOCAL_ONLY",
        )


def create_user(
    conn: Connection,
    *,
    username: str,
    role: str,
    password: str | None = None,
    email: str | None = None,
) -> UserCreated:
    _local_only(conn, "users create", ", or use `agentos action user.create --server ...`")
    with conn.session() as session:
        user, one_time = users.create(
            session, username=username, role=role, password=password, email=email
        )
    return UserCreated(user=user, one_time_password=one_time)


def list_users(conn: Connection, *, page: int = 1, per_page: int = 100) -> Page[UserRead]:
    _local_only(conn, "users list", "")
    with conn.session() as session:
        return users.find(session, page=PageParams(page=page, per_page=per_page))


def mint_token(conn: Connection, *, username: str, ttl_s: int | None = None) -> AccessToken:
    """An access token for `username`; the mint is recorded as a security event."""
    _local_only(conn, "token", ", or log in with POST /api/auth/login")
    with conn.session() as session:
        return authn.mint_token(session, username=username, actor=conn.local_actor, ttl_s=ttl_s)
