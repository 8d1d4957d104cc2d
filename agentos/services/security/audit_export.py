"""Exporting audit records to a JSONL file that stands on its own.

Line 1 is a header: the format, the seq range, the chain head when the export was taken
and why it was taken. Every further line is one record with every hashed field, its
`prev_hash` and `hash`, so the chain of the exported records can be recomputed without
the database (given the audit key for keyed records).

The chain covers what a record says, not everything on its line (the record's `id`, the
header and its `keyed_from_seq`, the layout), so every line also carries `line_mac`: the
HMAC, with the audit key, of the line's other fields. A line must also be exactly as it
was written. So one edited byte anywhere fails `verify_file`, naming the record it is in;
and nobody without the key can re-hash an edited chain as "plain" by raising the header's
`keyed_from_seq`.
"""

from __future__ import annotations

import hashlib
import hmac
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
from agentos.services.security.audit import (
    HEAD_ID,
    HEAD_TABLE,
    Draft,
    canonical_json,
    mac_key,
    record_fields,
)
from agentos.services.security.audit_verify import batches, head, problem_of

EXPORT_FORMAT = "agentos-audit-export/1"  # unreleased when line_mac was added: no bump
LINE_MAC = "line_mac"


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
    key = mac_key(session)
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
        handle.write(signed_line(header, key))
        for batch in batches(session, after=after_seq):
            for record in batch:
                line = {**record_fields(record), "id": str(record.id), "hash": record.hash}
                handle.write(signed_line(line, key))
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


def _line_mac(fields: dict[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical_json(fields).encode(), hashlib.sha256).hexdigest()


def _layout(data: dict[str, Any]) -> str:
    """A line exactly as `export` writes it."""
    return json.dumps(data, sort_keys=True, default=str)


def signed_line(data: dict[str, Any], key: bytes) -> str:
    return _layout({**data, LINE_MAC: _line_mac(data, key)}) + "\n"


def line_problem(text: str, data: dict[str, Any], key: bytes) -> str | None:
    """What is wrong with a line whose fields were read as `data`, beyond its chain."""
    if text != _layout(data):
        return "the line is not as it was written (edited: layout or encoding)"
    fields = {name: value for name, value in data.items() if name != LINE_MAC}
    mac = data.get(LINE_MAC)
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _line_mac(fields, key)):
        return f"the line does not match its {LINE_MAC} hash (edited, or another audit key)"
    return None


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


@dataclass
class _Walk:
    """Where `verify_file` is in the file: the next seq expected and the link it needs."""

    after_seq: int
    head_seq: int | None
    checked: int = 0
    expected: int | None = None
    prev_hash: str = ""
    last: Draft | None = None


def _broken(
    walk: _Walk, seq: int | None, problem: str, record_id: uuid.UUID | None = None
) -> AuditVerifyResult:
    """A failed verification naming `seq`: the first record that is not as exported."""
    return AuditVerifyResult(
        ok=False,
        checked=walk.checked,
        head_seq=walk.last.seq if walk.last else None,
        first_broken_seq=seq,
        first_broken_id=record_id,
        problem=problem,
    )


def _header(text: str) -> dict[str, Any]:
    header = json.loads(text)
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise ValueError(f"not an {EXPORT_FORMAT} file")
    return header


def _record_line(
    walk: _Walk, number: int, text: str, key: bytes, keyed_from: int
) -> AuditVerifyResult | None:
    """Check one record line (`text` as read, with its line end) as the next link; None
    when it verifies. A failure names the seq this line should hold."""
    seq = walk.expected if walk.expected is not None else walk.after_seq + 1
    whole = text.endswith("\n")
    body = text.removesuffix("\n")
    try:
        data = json.loads(body)
        record = _draft(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return _broken(walk, seq, f"line {number}: unreadable record ({exc})")
    if walk.expected is None:
        walk.expected, walk.prev_hash = seq, record.prev_hash
    walk.checked += 1
    found = problem_of(record, seq, walk.prev_hash, key if record.seq >= keyed_from else None)
    if found is None:
        found = line_problem(body, data, key) if whole else "the line was cut (no line end)"
    if found is not None:
        named = record.id if record.seq == seq else None
        return _broken(walk, seq, f"line {number}: {found}", named)
    walk.expected, walk.prev_hash, walk.last = record.seq + 1, record.hash, record
    return None


def _ending(walk: _Walk, header: dict[str, Any], text: str, key: bytes) -> AuditVerifyResult:
    """After the last record: the header itself, then the records against its chain head."""
    found = line_problem(text, header, key)
    if found is not None:
        return _broken(walk, None, f"line 1 (the header): {found}")
    last_seq = walk.last.seq if walk.last else walk.after_seq
    if walk.head_seq is not None and last_seq < walk.head_seq:
        return _broken(
            walk,
            last_seq + 1,
            f"record(s) missing at the end: the export ends at seq {last_seq}, but the "
            f"chain head it was taken at is seq {walk.head_seq}",
        )
    exported = header.get("chain_head") or {}
    last = walk.last
    if last is not None and last.seq == walk.head_seq and last.hash != exported.get("hash"):
        return _broken(
            walk, last.seq, "the last record does not match the chain head in the header", last.id
        )
    return AuditVerifyResult(
        ok=True,
        checked=walk.checked,
        head_seq=walk.last.seq if walk.last else None,
        head_hash=walk.last.hash if walk.last else None,
    )


def verify_file(path: Path, *, key: bytes) -> AuditVerifyResult:
    """Recompute the chain of an export without the database: every record's hash (keyed
    ones with `key`), every link, every line as written and signed, the header, and the
    records against the chain head the header names (none missing at either end)."""
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.readline()
        try:
            header_text = first.removesuffix("\n")
            header = _header(header_text)
            walk = _Walk(
                after_seq=int(header.get("after_seq") or 0),
                head_seq=int((header.get("chain_head") or {})["seq"]),
            )
            keyed_from = int(header.get("keyed_from_seq") or 1)
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            return AuditVerifyResult(ok=False, checked=0, problem=f"line 1: {exc}")
        if not first.endswith("\n"):
            return _broken(walk, None, "line 1: the header line was cut")
        for number, text in enumerate(handle, start=2):
            broken = _record_line(walk, number, text, key, keyed_from)
            if broken is not None:
                return broken
    return _ending(walk, header, header_text, key)
