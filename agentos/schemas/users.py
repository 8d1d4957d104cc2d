"""Users as the front ends see them (never the password hash)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN, examples=["alice"])
    role: Role = Field(examples=["operator"])
    email: str | None = Field(default=None, max_length=255, examples=["alice@example.com"])
    password: str | None = Field(default=None, min_length=8, max_length=1024)


class UserCreated(BaseModel):
    """A new user and, when none was given, the one-time password (shown once)."""

    user: UserRead
    one_time_password: str | None = None
