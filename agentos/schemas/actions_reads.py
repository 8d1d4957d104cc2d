"""Payloads and results of the read actions the front ends share: the audit trail search
(SystemLogs) and the runtime configuration (Configuration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos.schemas.actions import ActionPayload
from agentos.schemas.audit import AuditOutcome, AuditRecordRead
from agentos.schemas.audit_read import RuntimeSettingRead

AUDIT_PAGE_MAX = 500


class AuditSearchPayload(ActionPayload):
    query: str | None = Field(
        default=None, max_length=200, description="Text in action, actor, outcome or trace id"
    )
    actor: str | None = Field(default=None, max_length=150, description="Actor name, exactly")
    action: str | None = Field(default=None, max_length=100, description="Action name, exactly")
    outcome: AuditOutcome | None = None
    trace_id: str | None = Field(default=None, max_length=128)
    since: datetime | None = Field(default=None, description="Records at or after this time")
    until: datetime | None = Field(default=None, description="Records before this time")
    before_seq: int | None = Field(
        default=None, ge=1, description="Cursor: records older than this sequence number"
    )
    limit: int = Field(default=50, ge=1, le=AUDIT_PAGE_MAX)


class AuditSearchResult(BaseModel):
    records: list[AuditRecordRead] = Field(description="Newest first")
    next_cursor: int | None = Field(
        default=None, description="Pass as before_seq for the next (older) page; null at the end"
    )


class ConfigGetPayload(ActionPayload):
    key: str | None = Field(default=None, max_length=100, description="One setting; all if null")


class EffectiveSetting(BaseModel):
    name: str
    value: Any = Field(description="Secrets and URL passwords masked")
    source: Literal["default", "environment", "runtime"]
    settable: bool = Field(default=False, description="config.set may change it live")


class ConfigGetResult(BaseModel):
    deployment: Literal["embedded", "distributed"]
    effective: list[EffectiveSetting] = Field(description="The configuration in use")
    runtime: list[RuntimeSettingRead] = Field(
        description="Rows of the runtime `settings` table (changed live by actions)"
    )
