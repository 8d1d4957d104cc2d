"""Payloads of the SystemControls actions (ACTIONS.md)."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Literal

from pydantic import Field, field_validator

from agentos.schemas.actions import ActionPayload, DangerousPayload

LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._:-]*$"


class BackupCreatePayload(ActionPayload):
    label: str | None = Field(
        default=None, max_length=100, pattern=LABEL_PATTERN, examples=["before-upgrade"]
    )


class BackupIdPayload(ActionPayload):
    backup_id: uuid.UUID


class BackupDeletePayload(DangerousPayload):
    backup_id: uuid.UUID


class RestorePayload(DangerousPayload):
    backup_id: uuid.UUID


class MaintenanceEnablePayload(ActionPayload):
    message: str = Field(min_length=1, max_length=500, examples=["Upgrading the database"])
    retry_after_s: int = Field(
        default=300, ge=1, le=86_400, description="Retry-After sent with the 503s"
    )


class CacheClearPayload(ActionPayload):
    pattern: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Glob of cache keys (without the deployment prefix); default: the SSOT key",
    )


class ResetAndSeedPayload(DangerousPayload):
    jobs: int = Field(default=25, ge=0, le=10_000_000)
    events: int = Field(default=100, ge=0, le=1_000_000)


# The dependencies a circuit breaker guards (services/backends/breaker.py DEPENDENCIES).
BreakerName = Literal["database", "cache", "broker", "storage"]


class BreakerNamePayload(ActionPayload):
    name: BreakerName = Field(examples=["broker"])


class BreakerTripPayload(DangerousPayload):
    name: BreakerName = Field(examples=["broker"])


class RateLimitResetPayload(ActionPayload):
    user_id: uuid.UUID | None = Field(default=None, description="Only this user's counters")
    action: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[a-z_]+(\.[a-z_]+)*$",
        description="Only this action's counters",
    )


class IdempotencyPurgePayload(ActionPayload):
    older_than_s: int | None = Field(
        default=None, ge=0, description="Only records stored at least this long ago; all if unset"
    )


class LockoutClearPayload(ActionPayload):
    ip: str = Field(
        min_length=2,
        max_length=64,
        examples=["203.0.113.7"],
        json_schema_extra={"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
    )

    @field_validator("ip")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None


class StorageCleanupPayload(DangerousPayload):
    older_than_days: int = Field(default=7, ge=0, le=3650)


class UploadsAbortStalePayload(ActionPayload):
    older_than_minutes: int = Field(default=60, ge=1, le=525_600)


class DrainPayload(ActionPayload):
    timeout_s: float = Field(default=60.0, ge=0, le=3600)
