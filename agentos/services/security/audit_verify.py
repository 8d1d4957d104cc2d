"""Verifying the audit chain: every link recomputed, keyed records with the deployment's
key, and the chain checked against a head kept outside the database (`ChainAnchor`: an
export, or the anchor file the periodic task writes with `write_anchor`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import AuditRecord
from agentos.schemas.audit import AuditVerifyResult
from agentos.services.runtime import Runtime
from agentos.services.security.audit import (
    GENESIS_HASH,
    HEAD_ID,
    HEAD_TABLE,
    VERIFY_BATCH,
    Draft,
    hash_fields,
    head_row_missing,
    mac_key,
    record_fields,
)
from agentos.settings import Settings

ANCHOR_FILE = Path("audit") / "chain-head.json"


def batches(session: Session, *, after: int = 0) -> Iterator[list[AuditRecord]]:
    """Every record with seq > `after`, in order, a batch at a time."""
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


def problem_of(
    record: AuditRecord | Draft, expected_seq: int, prev_hash: str, key: bytes | None
) -> str | None:
    """What is wrong with `record` as the next link after (`expected_seq`, `prev_hash`)."""
    if record.seq != expected_seq:
        missing = f"{expected_seq}" if record.seq == expected_seq + 1 else f"{expected_seq}.."
        return f"record(s) missing before seq {record.seq} (expected seq {missing})"
    if record.prev_hash != prev_hash:
        return "prev_hash does not match the previous record's hash"
    if hash_fields(record_fields(record), key) != record.hash:
        return "record content does not match its hash (edited)"
    return None


@dataclass(frozen=True)
class ChainAnchor:
    """A chain head kept outside the database (an export, the periodic anchor file): the
    chain must still hold that record, unchanged."""

    seq: int
    hash: str


def verify(session: Session, *, anchor: ChainAnchor | None = None) -> AuditVerifyResult:
    """Recompute the chain end to end (keyed records with the deployment's audit key) and
    check it against `anchor`; name the first record that does not verify."""
    key = mac_key(session)
    keyed_from = (
        session.scalar(select(HEAD_TABLE.c.keyed_from_seq).where(HEAD_TABLE.c.id == HEAD_ID)) or 1
    )
    checked, expected_seq, prev_hash = 0, 1, GENESIS_HASH
    for batch in batches(session):
        for record in batch:
            checked += 1
            problem = problem_of(
                record, expected_seq, prev_hash, key if record.seq >= keyed_from else None
            )
            if (
                problem is None
                and anchor is not None
                and record.seq == anchor.seq
                and record.hash != anchor.hash
            ):
                problem = f"does not match the chain head exported for seq {anchor.seq}"
            if problem is not None:
                return AuditVerifyResult(
                    ok=False,
                    checked=checked,
                    head_seq=record.seq,
                    head_hash=record.hash,
                    first_broken_seq=record.seq,
                    first_broken_id=record.id,
                    problem=problem,
                    anchor_seq=anchor.seq if anchor else None,
                )
            expected_seq, prev_hash = record.seq + 1, record.hash
    head_seq = expected_seq - 1 if checked else None
    if anchor is not None and anchor.seq > (head_seq or 0):
        return AuditVerifyResult(
            ok=False,
            checked=checked,
            head_seq=head_seq,
            head_hash=prev_hash if checked else None,
            first_broken_seq=(head_seq or 0) + 1,
            problem=f"the chain ends at seq {head_seq or 0} but its head was exported at seq "
            f"{anchor.seq}: records were removed",
            anchor_seq=anchor.seq,
        )
    return AuditVerifyResult(
        ok=True,
        checked=checked,
        head_seq=head_seq,
        head_hash=prev_hash if checked else None,
        anchor_seq=anchor.seq if anchor else None,
    )


def head(session: Session) -> ChainAnchor:
    """The chain head as it stands (what an anchor or an export records)."""
    row = session.execute(
        select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(HEAD_TABLE.c.id == HEAD_ID)
    ).first()
    if row is None:
        raise head_row_missing()
    return ChainAnchor(seq=int(row[0]), hash=str(row[1]))


def anchor_path(settings: Settings) -> Path:
    return settings.home_dir / ANCHOR_FILE


def read_anchor(settings: Settings) -> ChainAnchor | None:
    """The last chain head the periodic task exported, if any."""
    try:
        data = json.loads(anchor_path(settings).read_text())
        return ChainAnchor(seq=int(data["seq"]), hash=str(data["hash"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_anchor(runtime: Runtime) -> ChainAnchor:
    """Export the chain head to the anchor file (atomically, mode 0600)."""
    with runtime.read_session() as session:
        current = head(session)
    path = anchor_path(runtime.settings)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = {"seq": current.seq, "hash": current.hash, "at": datetime.now(UTC).isoformat()}
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(body, handle)
    os.replace(temporary, path)
    return current
