"""The append-only, hash-chained audit trail of admin actions.

`hash` = SHA-256 over the canonical JSON of the record's fields and `prev_hash`, so an
edited record no longer matches its hash and a deleted one breaks the next link (and
leaves a gap in `seq`). Appending holds the chain head only for the hash step: on
PostgreSQL a transaction-scoped advisory lock taken right before the head is read, at the
end of the caller's transaction; SQLite writers are serialised by BEGIN IMMEDIATE already.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from agentos.db.models import AuditRecord
from agentos.schemas.audit import (
    ActionOutcomeCount,
    ActionStats,
    AuditRecordRead,
    AuditVerifyResult,
)
from agentos.services.context import Actor
from agentos.services.security.pii import scrub, scrub_text

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key: "agentaud" as a big-endian signed 64-bit integer.
CHAIN_LOCK_KEY = int.from_bytes(b"agentaud", "big", signed=True)
HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "created_at",
    "actor_id",
    "actor_name",
    "role",
    "source",
    "action",
    "payload",
    "result",
    "outcome",
    "error_code",
    "trace_id",
    "ip",
    "user_agent",
    "reason",
    "duration_ms",
    "prev_hash",
)
VERIFY_BATCH = 1000


@dataclass
class AuditEntry:
    """One attempt, as the pipeline saw it (payload and result are scrubbed on append)."""

    actor: Actor
    action: str
    outcome: str
    payload: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error_code: str | None = None
    reason: str | None = None
    duration_ms: float | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _normalise(value: Any) -> Any:
    # JSONB keeps numbers as numerics: 1.0 may come back as 1 and 1e20 as an integer, so
    # integral floats hash as integers on both sides.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(
        _normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def hash_fields(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(values).encode()).hexdigest()


def record_fields(record: AuditRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in HASHED_FIELDS}
    values["created_at"] = _timestamp(record.created_at)
    values["actor_id"] = str(record.actor_id) if record.actor_id else None
    return values


def _take_head(session: Session) -> tuple[int, str]:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    head = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))


def append(session: Session, entry: AuditEntry) -> AuditRecord:
    """Add the record to the caller's transaction; call it last, right before the commit."""
    actor = entry.actor
    record = AuditRecord(
        id=uuid.uuid4(),
        created_at=entry.created_at,
        actor_id=actor.id,
        actor_name=actor.name[:64],
        role=actor.role,
        source=actor.source,
        action=entry.action[:64],
        payload=scrub(entry.payload) if entry.payload is not None else None,
        result=scrub(entry.result) if entry.result is not None else None,
        outcome=entry.outcome,
        error_code=entry.error_code,
        trace_id=actor.trace_id,
        ip=actor.ip,
        user_agent=actor.user_agent[:255] if actor.user_agent else None,
        reason=scrub_text(entry.reason) if entry.reason else None,
        duration_ms=None if entry.duration_ms is None else round(entry.duration_ms, 3),
    )
    record.seq, record.prev_hash = _take_head(session)
    record.seq += 1
    record.hash = hash_fields(record_fields(record))
    session.add(record)
    session.flush()
    return record


def _batches(session: Session) -> Iterator[list[AuditRecord]]:
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditRecord)
                .where(AuditRecord.seq > after)
                .order_by(AuditRecord.seq)
                .limit(VERIFY_BATCH)
            )
        )
        if not rows:
            return
        yield rows
        after = rows[-1].seq
        session.expunge_all()


def _problem(record: AuditRecord, expected_seq: int, prev_hash: str) -> str | None:
    if record.seq != expected_seq:
        missing = f"{expected_seq}" if record.seq == expected_seq + 1 else f"{expected_seq}.."
        return f"record(s) missing before seq {record.seq} (expected seq {missing})"
    if record.prev_hash != prev_hash:
        return "prev_hash does not match the previous record's hash"
    if hash_fields(record_fields(record)) != record.hash:
        return "record content does not match its hash (edited)"
    return None


def verify(session: Session) -> AuditVerifyResult:
    """Recompute the chain end to end; name the first record that does not verify."""
    checked, expected_seq, prev_hash = 0, 1, GENESIS_HASH
    for batch in _batches(session):
        for record in batch:
            checked += 1
            problem = _problem(record, expected_seq, prev_hash)
            if problem is not None:
                return AuditVerifyResult(
                    ok=False,
                    checked=checked,
                    head_seq=record.seq,
                    head_hash=record.hash,
                    first_broken_seq=record.seq,
                    first_broken_id=record.id,
                    problem=problem,
                )
            expected_seq, prev_hash = record.seq + 1, record.hash
    head_seq = expected_seq - 1 if checked else None
    return AuditVerifyResult(
        ok=True, checked=checked, head_seq=head_seq, head_hash=prev_hash if checked else None
    )


def recent(session: Session, *, limit: int = 20) -> list[AuditRecordRead]:
    rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit))
    return [AuditRecordRead.model_validate(row) for row in rows]


def stats(session: Session, *, since_hours: int = 24) -> list[ActionStats]:
    """Per-action counts by outcome and latency, from two aggregate queries."""
    since = datetime.now(UTC) - timedelta(hours=since_hours)
    window = AuditRecord.created_at >= since
    latency = session.execute(
        select(
            AuditRecord.action,
            func.count(),
            func.avg(AuditRecord.duration_ms),
            func.max(AuditRecord.duration_ms),
            func.max(AuditRecord.created_at),
        )
        .where(window)
        .group_by(AuditRecord.action)
    ).all()
    by_outcome = session.execute(
        select(AuditRecord.action, AuditRecord.outcome, func.count())
        .where(window)
        .group_by(AuditRecord.action, AuditRecord.outcome)
    ).all()
    outcomes: dict[str, list[ActionOutcomeCount]] = {}
    for action, outcome, count in by_outcome:
        outcomes.setdefault(action, []).append(ActionOutcomeCount(outcome=outcome, count=count))
    return [
        ActionStats(
            action=action,
            count=count,
            outcomes=sorted(outcomes.get(action, []), key=lambda item: item.outcome),
            mean_ms=None if mean is None else round(float(mean), 3),
            max_ms=None if peak is None else round(float(peak), 3),
            last_at=_aware(last),
        )
        for action, count, mean, peak, last in sorted(latency)
    ]


def _aware(value: Any) -> datetime | None:
    # func.max() over the column loses the UTCDateTime type on SQLite: it comes back as text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None
