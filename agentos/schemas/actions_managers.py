"""Payloads and results of the Managers actions: users, API keys, the IP allow-list."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from agentos.schemas.actions import ActionPayload
from agentos.schemas.auth import ApiKeyRead
from agentos.schemas.users import USERNAME_PATTERN, Role, UserRead

SCOPE_PATTERN = r"^[a-z][a-z0-9_.:-]{0,63}$"


class UserCreatePayload(ActionPayload):
    username: str = Field(pattern=USERNAME_PATTERN, examples=["dana"])
    role: Role
    email: str | None = Field(default=None, max_length=255)


class UserIdPayload(ActionPayload):
    user_id: uuid.UUID


class UserSetRolePayload(ActionPayload):
    user_id: uuid.UUID
    role: Role


class TokensRevoked(BaseModel):
    user: UserRead
    refresh_tokens: int = Field(description="Sessions ended")
    api_keys: int = Field(description="API keys revoked")


class ApiKeyCreatePayload(ActionPayload):
    user_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100, examples=["ci-uploader"])
    scopes: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Capabilities beyond the owner's role (agent: report stage progress)",
        json_schema_extra={"items": {"type": "string", "pattern": SCOPE_PATTERN}},
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        bad = [scope for scope in value if not re.match(SCOPE_PATTERN, scope)]
        if bad:
            raise ValueError(f"invalid scope(s): {', '.join(bad)}")
        return value


class ApiKeyCreated(BaseModel):
    key: ApiKeyRead
    secret: str = Field(description="Shown once; only its hash is stored")


class ApiKeyIdPayload(ActionPayload):
    key_id: uuid.UUID


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = "[0-9a-fA-F]{1,4}"
_IPV6 = (
    f"(({_H}:){{7}}{_H}|({_H}:){{1,7}}:|({_H}:){{1,6}}:{_H}|({_H}:){{1,5}}(:{_H}){{1,2}}|"
    f"({_H}:){{1,4}}(:{_H}){{1,3}}|({_H}:){{1,3}}(:{_H}){{1,4}}|({_H}:){{1,2}}(:{_H}){{1,5}}|"
    f"{_H}:((:{_H}){{1,6}})|:((:{_H}){{1,7}}|:))"
)
# What the server takes (ipaddress.ip_network), in the forms a schema can state: an
# address, or an address with a prefix length.
CIDR_FORMS: list[dict[str, str]] = [
    {"format": "ipv4"},
    {"format": "ipv6"},
    {"pattern": f"^{_OCTET}(\\.{_OCTET}){{3}}/(3[0-2]|[12]?[0-9])$"},
    {"pattern": f"^{_IPV6}/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$"},
]


class CidrPayload(ActionPayload):
    cidr: str = Field(
        min_length=2,
        max_length=64,
        examples=["10.20.0.0/16"],
        json_schema_extra={"anyOf": CIDR_FORMS},  # type: ignore[dict-item]
    )

    @field_validator("cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP network (CIDR)") from None


class IpAllowAddPayload(CidrPayload):
    note: str | None = Field(default=None, max_length=255)


class IpAllowEntryRead(BaseModel):
    cidr: str
    note: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None


class IpAllowRemoved(BaseModel):
    cidr: str
    removed: bool


class LockoutRead(BaseModel):
    scope: str = Field(description="user or ip")
    subject: str
    failures: int
    locked_until: datetime | None = None


class ManagersView(BaseModel):
    """What the Managers view shows (`GET /api/admin/managers`)."""

    users: list[UserRead]
    users_total: int
    api_keys: list[ApiKeyRead]
    ip_allowlist: list[IpAllowEntryRead] = Field(description="The table (ipallow.add)")
    configured_allowlist: list[str] = Field(description="AGENTOS_ADMIN_IP_ALLOWLIST")
    lockouts: list[LockoutRead] = Field(description="Counters with failures or a lock in force")
