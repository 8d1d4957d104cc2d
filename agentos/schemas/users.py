"""Users as the front ends see them (never the password hash)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from agentos.schemas.common import ReadModel

Role = Literal["admin", "operator", "supervisor", "user", "readonly"]
ROLES: tuple[str, ...] = ("admin", "operator", "supervisor", "user", "readonly")
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class UserRead(ReadModel):
    id: uuid.UUID
    username: str
    email: str | None = None
    role: str
    is_active: bool
    must_change_password: bool
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class UserCreated(BaseModel):
    """A new user and, when none was given, the one-time password (shown once)."""

    user: UserRead
    one_time_password: str | None = None
