"""What every fault scenario checks afterwards, against the database itself."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from agentos.db.models import AuditRecord, SystemEvent
from agentos.services.runtime import Runtime
from agentos.services.security import audit_verify
from tests.faults.load import ACTION, Sample


def audit_by_trace(runtime: Runtime, trace_ids: Iterable[str]) -> dict[str, list[AuditRecord]]:
    wanted = list(trace_ids)
    found: dict[str, list[AuditRecord]] = {trace: [] for trace in wanted}
    with runtime.session() as session:
        for start in range(0, len(wanted), 500):
            rows = session.scalars(
                select(AuditRecord).where(
                    AuditRecord.action == ACTION,
                    AuditRecord.trace_id.in_(wanted[start : start + 500]),
                )
            )
            for row in rows:
                found[row.trace_id or ""].append(row)
    return found


def events_by_trace(runtime: Runtime, trace_ids: Iterable[str]) -> dict[str, int]:
    """How many operator notes (the effect of `events.emit`) each trace id left."""
    wanted = list(trace_ids)
    counts = dict.fromkeys(wanted, 0)
    with runtime.session() as session:
        for start in range(0, len(wanted), 500):
            for trace_id in session.scalars(
                select(SystemEvent.trace_id).where(
                    SystemEvent.source == "operator",
                    SystemEvent.trace_id.in_(wanted[start : start + 500]),
                )
            ):
                counts[trace_id or ""] += 1
    return counts


def lost_actions(
    runtime: Runtime, samples: list[Sample], *, errors_audited: bool = True
) -> list[str]:
    """Every action answered: a 2xx has exactly one `success` audit record and exactly one
    event (its effect); an error answer has no effect and one audit record that is not
    `success` (at most one when `errors_audited` is off: a refusal while the database is
    down cannot be written). Returns what does not hold (empty: nothing lost or doubled)."""
    actions = [s for s in samples if s.kind == "action" and s.status]
    records = audit_by_trace(runtime, (s.trace_id or "" for s in actions))
    effects = events_by_trace(runtime, (s.trace_id or "" for s in actions))
    problems = []
    for sample in actions:
        rows = records[sample.trace_id or ""]
        outcomes = [row.outcome for row in rows]
        effect = effects[sample.trace_id or ""]
        if 200 <= sample.status < 300:
            if outcomes != ["success"] or effect != 1:
                problems.append(f"2xx {sample.trace_id}: audit {outcomes}, effect {effect}")
        elif (
            len(rows) > 1
            or (errors_audited and len(rows) != 1)
            or "success" in outcomes
            or effect != 0
        ):
            problems.append(
                f"{sample.status} {sample.code} {sample.trace_id}: audit {outcomes}, "
                f"effect {effect}"
            )
    return problems


def verify_audit(runtime: Runtime) -> None:
    with runtime.session() as session:
        result = audit_verify.verify(session)
    assert result.ok, result
