"""Admin actions: payload bases, the Jobs & Queue and Dashboard payloads and results, the
pipeline's answer, and the catalog. Later views add their payloads in their own modules
(`schemas/actions_<view>.py`) on the same bases.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from agentos.schemas.audit import ActionStats, AuditRecordRead
from agentos.schemas.common import RequestModel
from agentos.schemas.jobs import PRIORITY_MAX, PRIORITY_MIN, JobStatus

RateClass = Literal["standard", "high_risk", "critical"]
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_unstorable(item) for item in value)
    return False


EventSeverity = Literal["debug", "info", "warning", "error", "critical"]


class ActionPayload(RequestModel):
    """Base of every action payload: unknown fields are refused, `reason` is audited, and no
    string anywhere in it may hold a NUL or a lone surrogate (no database stores them)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, max_length=500, description="Why; stored in the audit record"
    )

    @model_validator(mode="before")
    @classmethod
    def _storable_strings(cls, data: Any) -> Any:
        if _unstorable(data):
            raise ValueError("NUL characters and lone surrogates are not allowed in strings")
        return data


class DangerousPayload(ActionPayload):
    """Destructive actions: refused without `confirm`; `dry_run` only reports what would change."""

    confirm: bool = Field(default=False, description="Required (true) to really run it")
    dry_run: bool = Field(default=False, description="Report what would change; change nothing")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        # The server refuses one without either (422 CONFIRMATION_REQUIRED): say so.
        target["anyOf"] = [
            {"required": ["confirm"], "properties": {"confirm": {"const": True}}},
            {"required": ["dry_run"], "properties": {"dry_run": {"const": True}}},
        ]
        return schema


class NoPayload(ActionPayload):
    """An action that takes no parameters."""


class JobIdPayload(ActionPayload):
    job_id: uuid.UUID


class JobDeletePayload(DangerousPayload):
    job_id: uuid.UUID


class JobSetStatusPayload(ActionPayload):
    """An operator forcing a job's status (the user API's `POST /api/jobs/{id}/status`)."""

    job_id: uuid.UUID
    status: JobStatus
    error: str | None = Field(default=None, max_length=4000, description="For failed")
    error_code: str | None = Field(default=None, max_length=64, description="For failed")


class JobSetPriorityPayload(ActionPayload):
    job_id: uuid.UUID
    priority: int = Field(ge=PRIORITY_MIN, le=PRIORITY_MAX, examples=[10])


class QueueClearPayload(DangerousPayload):
    queue: str | None = Field(
        default=None, description="Only jobs waiting at this agent; all queued jobs when omitted"
    )


class QueueRetryFailedPayload(ActionPayload):
    since: datetime | None = Field(default=None, description="Only jobs that failed since then")
    dry_run: bool = Field(default=False, description="Report what would change; change nothing")


class AlertAckPayload(ActionPayload):
    event_id: uuid.UUID


class AlertAckAllPayload(ActionPayload):
    severity: EventSeverity | None = Field(default=None, description="Only this severity")


class AckAllResult(BaseModel):
    count: int = Field(description="Events acknowledged now")
    severity: EventSeverity | None = None


class JobDeleteResult(BaseModel):
    job_id: uuid.UUID
    steps: int
    clips: int
    files: list[str]
    dry_run: bool = False


class ActionResponse(BaseModel):
    """What an admin action answers (the `data` of the HTTP envelope)."""

    action: str
    result: dict[str, Any] = Field(description="The action's result model, as JSON")
    dry_run: bool = False
    replayed: bool = Field(default=False, description="Answered from the idempotency store")
    audit_seq: int | None = Field(default=None, description="The audit record of the execution")
    trace_id: str | None = None
    duration_ms: float | None = None


class ActionInfo(BaseModel):
    """One catalog entry."""

    name: str
    view: str
    summary: str
    permission: str
    read_only: bool
    rate_class: RateClass
    rate_limit: int = Field(description="Requests per window, per user and action")
    rate_window_s: int
    dangerous: bool
    dependencies: list[str]
    payload_schema: dict[str, Any]
    allowed: bool | None = Field(
        default=None,
        description="Whether the caller's role may run it (the action status page answers "
        "it per caller; null where no caller was asked about)",
    )


class BreakerRead(BaseModel):
    name: str
    state: Literal["closed", "open", "half_open"]
    failures: int
    opened_at: datetime | None = None
    probes: int = 0
    forced: bool = False


class ActionStatusRead(BaseModel):
    catalog: list[ActionInfo]
    recent: list[AuditRecordRead] = Field(description="Latest attempts, newest first")
    stats: list[ActionStats] = Field(description="Per action, over `window_hours`")
    window_hours: int
    breakers: list[BreakerRead]
