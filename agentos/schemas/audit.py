"""The audit trail: records as read back, chain verification, per-action figures."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos.schemas.common import ReadModel

AuditOutcome = Literal[
    "success",
    "failed",
    "denied",
    "rejected",
    "rate_limited",
    "circuit_open",
    "conflict",
    "replayed",
]


class AuditRecordRead(ReadModel):
    id: uuid.UUID
    seq: int
    created_at: datetime
    actor_id: uuid.UUID | None = None
    actor_name: str
    role: str | None = None
    source: str
    action: str
    payload: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    outcome: str
    error_code: str | None = None
    trace_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    reason: str | None = None
    duration_ms: float | None = None
    prev_hash: str
    hash: str


class AuditVerifyResult(BaseModel):
    ok: bool = Field(description="True when every record and link of the chain checks out")
    checked: int = Field(description="Records read")
    head_seq: int | None = Field(default=None, description="Last record's sequence number")
    head_hash: str | None = None
    first_broken_seq: int | None = Field(
        default=None, description="Sequence number of the first record that does not verify"
    )
    first_broken_id: uuid.UUID | None = None
    problem: str | None = Field(default=None, description="What is wrong with that record")
    anchor_seq: int | None = Field(
        default=None, description="The exported chain head checked against, if any"
    )


class ActionOutcomeCount(BaseModel):
    outcome: str
    count: int


class ActionStats(BaseModel):
    action: str
    count: int
    outcomes: list[ActionOutcomeCount]
    mean_ms: float | None = None
    max_ms: float | None = None
    last_at: datetime | None = None
