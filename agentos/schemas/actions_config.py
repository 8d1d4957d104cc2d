"""Payloads and results of the Configuration actions that change settings (ACTIONS.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from agentos.schemas.actions import ActionPayload
from agentos.settings import RateAlgorithm, RatePolicy

KEY_FIELD = Field(min_length=1, max_length=100, examples=["ssot_cache_ttl_s"])


class ConfigSetPayload(ActionPayload):
    key: str = KEY_FIELD
    value: Any = Field(description="Validated as the setting's type and bounds", examples=[20])


class ConfigKeyPayload(ActionPayload):
    key: str = KEY_FIELD


class ConfigDocumentPayload(ActionPayload):
    document: dict[str, Any] = Field(
        description="A config.export document, or a plain {setting: value} object"
    )


class ConfigImportPayload(ConfigDocumentPayload):
    dry_run: bool = Field(default=False, description="Only the diff; change nothing")


class ConfigHistoryPayload(ActionPayload):
    key: str | None = Field(default=None, max_length=100, description="One setting; all if null")
    limit: int = Field(default=100, ge=1, le=1000)


class RatePolicySetPayload(ActionPayload):
    scope: str = Field(
        min_length=1,
        max_length=100,
        description="An HTTP tier (public, user, upload, admin_read, admin_action), an action "
        "rate class (standard, high_risk, critical) or an action name",
        examples=["user"],
    )
    limit: int = Field(ge=1, le=1_000_000, examples=[200])
    window_s: int = Field(ge=1, le=86_400, examples=[60])
    algorithm: RateAlgorithm = "sliding_window"


class ConfigChange(BaseModel):
    key: str
    old: Any = None
    new: Any = None


class ConfigSetResult(ConfigChange):
    source: str = Field(description="Where the value in force now comes from")


class ConfigExport(BaseModel):
    format: str = "agentos-config/1"
    exported_at: datetime
    deployment: str
    values: dict[str, Any] = Field(description="Every settable setting's value in force")
    runtime: list[str] = Field(description="The settings holding a runtime value")


class ConfigImportResult(BaseModel):
    dry_run: bool
    changes: list[ConfigChange]
    unchanged: int


class ConfigValidateResult(BaseModel):
    ok: bool
    errors: list[str]
    keys: list[str] = Field(description="The settings the document would set")


class ConfigHistoryEntry(BaseModel):
    key: str
    old_value: Any = None
    new_value: Any = None
    changed_by: str | None = None
    changed_at: datetime
    reason: str | None = None


class ConfigHistoryResult(BaseModel):
    entries: list[ConfigHistoryEntry] = Field(description="Newest first")


class RatePolicyResult(BaseModel):
    scope: str
    policy: RatePolicy
    policies: dict[str, RatePolicy] = Field(description="Every policy now in force")
