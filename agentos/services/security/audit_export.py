"""Exporting audit records to a JSONL file that stands on its own.

Line 1 is a header: the format, the seq range, the record count, the chain head when the
export was taken and why it was taken. Every further line is one record with every
hashed field, its `prev_hash` and `hash`, so the chain of the exported records can be
recomputed without the database (given the audit key for keyed records).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from agentos.services.security.audit import record_fields
from agentos.services.security.audit_verify import batches, head

EXPORT_FORMAT = "agentos-audit-export/1"


@dataclass(frozen=True)
class AuditExport:
    path: Path
    count: int
    from_seq: int | None
    to_seq: int | None
    head_seq: int
    head_hash: str


def export(session: Session, path: Path, *, after_seq: int = 0, purpose: str) -> AuditExport:
    """Write every record with seq > `after_seq` to `path` (atomically, mode 0600)."""
    chain_head = head(session)
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
