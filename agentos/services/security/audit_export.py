"""Exporting audit records to a JSONL file that stands on its own.

Line 1 is a header: the format, the seq range, the record count, the chain head when the
export was taken and why it was taken. Every further line is one record with every
hashed field, its `prev_hash` and `hash`, so the chain of the exported records can be
recomputed without the database (given the audit key for keyed records).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentos.db.models import AuditRecord
from agentos.schemas.audit import AuditVerifyResult
from agentos.services.security.audit import HEAD_ID, HEAD_TABLE, Draft, record_fields
from agentos.services.security.audit_verify import batches, head, problem_of

EXPORT_FORMAT = "agentos-audit-export/1"


@dataclass(frozen=True)
class AuditExport:
    path: Path
    count: int
    from_seq: int | None
    to_seq: int | None
    head_seq: int
    head_hash: str


def file_name(stamp: datetime | None = None) -> str:
    moment = stamp or datetime.now(UTC)
    return f"audit-{moment:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}.jsonl"


def first_seq_since(session: Session, since: datetime) -> int:
    """The `after_seq` that exports the records written at or after `since`."""
    first = session.scalar(select(func.min(AuditRecord.seq)).where(AuditRecord.created_at >= since))
    return int(first) - 1 if first is not None else int(head(session).seq)


def export(session: Session, path: Path, *, after_seq: int = 0, purpose: str) -> AuditExport:
    """Write every record with seq > `after_seq` to `path` (atomically, mode 0600)."""
    chain_head = head(session)
    keyed_from = session.scalar(
        select(HEAD_TABLE.c.keyed_from_seq).where(HEAD_TABLE.c.id == HEAD_ID)
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    count, first, last = 0, None, None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        header = {
            "format": EXPORT_FORMAT,
            "purpose": purpose,
            "after_seq": after_seq,
            "exported_at": datetime.now(UTC).isoformat(),
            "chain_head": {"seq": chain_head.seq, "hash": chain_head.hash},
            "keyed_from_seq": int(keyed_from or 1),
        }
        handle.write(json.dumps(header, sort_keys=True) + "\n")
        for batch in batches(session, after=after_seq):
            for record in batch:
                line = {**record_fields(record), "id": str(record.id), "hash": record.hash}
                handle.write(json.dumps(line, sort_keys=True, default=str) + "\n")
            count += len(batch)
            first = batch[0].seq if first is None else first
            last = batch[-1].seq
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return AuditExport(
        path=path,
        count=count,
        from_seq=first,
        to_seq=last,
        head_seq=chain_head.seq,
        head_hash=chain_head.hash,
    )


def _draft(line: dict[str, Any]) -> Draft:
    actor_id = line.get("actor_id")
    return Draft(
        id=uuid.UUID(str(line["id"])),
        created_at=datetime.fromisoformat(str(line["created_at"])),
        actor_id=uuid.UUID(str(actor_id)) if actor_id else None,
        actor_name=line["actor_name"],
        role=line.get("role"),
        source=line["source"],
        action=line["action"],
        payload=line.get("payload"),
        result=line.get("result"),
        outcome=line["outcome"],
        error_code=line.get("error_code"),
        trace_id=line.get("trace_id"),
        ip=line.get("ip"),
        user_agent=line.get("user_agent"),
        reason=line.get("reason"),
        duration_ms=line.get("duration_ms"),
        seq=int(line["seq"]),
        prev_hash=str(line["prev_hash"]),
        hash=str(line["hash"]),
    )


def verify_file(path: Path, *, key: bytes) -> AuditVerifyResult:
    """Recompute the chain of an export without the database: every record's hash (keyed
    ones with `key`), every link, and the last record against the exported chain head."""
    checked, expected, prev_hash, last = 0, None, "", None
    with path.open(encoding="utf-8") as handle:
        try:
            header = json.loads(handle.readline())
            if header.get("format") != EXPORT_FORMAT:
                raise ValueError(f"not an {EXPORT_FORMAT} file")
        except (ValueError, AttributeError) as exc:
            return AuditVerifyResult(ok=False, checked=0, problem=f"line 1: {exc}")
        keyed_from = int(header.get("keyed_from_seq") or 1)
        for number, text in enumerate(handle, start=2):
            try:
                record = _draft(json.loads(text))
            except (ValueError, KeyError, TypeError) as exc:
                return AuditVerifyResult(
                    ok=False, checked=checked, problem=f"line {number}: unreadable record ({exc})"
                )
            if expected is None:
                expected, prev_hash = record.seq, record.prev_hash
            checked += 1
            found = problem_of(
                record, expected, prev_hash, key if record.seq >= keyed_from else None
            )
            if found is not None:
                return AuditVerifyResult(
                    ok=False,
                    checked=checked,
                    head_seq=record.seq,
                    first_broken_seq=record.seq,
                    first_broken_id=record.id,
                    problem=f"line {number}: {found}",
                )
            expected, prev_hash, last = record.seq + 1, record.hash, record
    exported = header.get("chain_head") or {}
    if last is not None and last.seq == exported.get("seq") and last.hash != exported.get("hash"):
        return AuditVerifyResult(
            ok=False,
            checked=checked,
            head_seq=last.seq,
            first_broken_seq=last.seq,
            problem="the last record does not match the chain head in the header",
        )
    return AuditVerifyResult(
        ok=True,
        checked=checked,
        head_seq=last.seq if last else None,
        head_hash=last.hash if last else None,
    )
