"""Tokens, credentials and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentos.schemas.common import ReadModel, RequestModel

TokenType = Literal["access"]


class LoginRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alice", "password": "correct horse"}]}
    )

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "rt_..."}]})

    refresh_token: str = Field(min_length=1, max_length=512)


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
                    "refresh_token": "rt_3q2-7wE...",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_expires_in": 2592000,
                }
            ]
        }
    )

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_expires_in: int = Field(description="seconds until the refresh token expires")
    must_change_password: bool = Field(
        default=False,
        description="a one-time password was used: these tokens do nothing but "
        "POST /api/auth/password until it is changed",
    )


class PasswordChange(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"current_password": "one-time-pw", "new_password": "a long new one"}]
        }
    )

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class AccessToken(BaseModel):
    """An access token minted for a script (`agentos token NAME`)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    username: str
    role: str


class AccessClaims(BaseModel):
    """The verified claims of an access token."""

    sub: uuid.UUID
    name: str
    role: str
    ver: int
    typ: TokenType
    scopes: list[str] = Field(default_factory=list)
    iss: str
    aud: str
    iat: datetime
    nbf: datetime
    exp: datetime
    jti: str
    fam: uuid.UUID | None = Field(
        default=None, description="The login (refresh-token family) the token belongs to"
    )


class ApiKeyRead(ReadModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
