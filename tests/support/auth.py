"""Users and tokens for HTTP tests: `create_user_and_token(settings, role="user")`."""

from __future__ import annotations

import uuid

from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.services.security.tokens import issue_access_token

TEST_PASSWORD = "correct horse battery"


def create_user_and_token(
    runtime: Runtime,
    *,
    role: str,
    username: str | None = None,
    password: str = TEST_PASSWORD,
    ttl_s: int | None = None,
) -> tuple[uuid.UUID, str]:
    """Commit a user with `role`; return its id and an access token for it."""
    name = username or f"{role}-{uuid.uuid4().hex[:8]}"
    with runtime.session() as session:
        user, _ = users.create(session, username=name, role=role, password=password)
    token = issue_access_token(
        runtime.settings,
        user_id=user.id,
        username=user.username,
        role=user.role,
        token_version=0,
        ttl_s=ttl_s,
    )
    return user.id, token


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
