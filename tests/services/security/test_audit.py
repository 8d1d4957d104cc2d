"""The audit chain: verification, tamper detection, append-only triggers."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from agentos.db.models import SystemEvent
from agentos.db.session import build_engine
from agentos.errors import AgentOSError
from agentos.schemas.actions import ActionResponse
from agentos.schemas.audit import AuditVerifyResult
from agentos.services import events
from agentos.services.runtime import Runtime
from agentos.services.security import audit, audit_verify
from agentos.settings import Settings
from tests.services.actions.helpers import ADMIN, audit_rows, outcomes, prepare, run


def _fill(runtime: Runtime, count: int = 4) -> None:
    prepare(runtime)
    for index in range(count):
        run(runtime, "queue.pause" if index % 2 == 0 else "queue.resume", {"reason": f"r{index}"})


def _tamper(settings: Settings, sql: str) -> None:
    """Change history the way only a privileged operator could: triggers bypassed."""
    if settings.is_sqlite:
        engine = build_engine(settings.resolved_database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
            connection.execute(text(sql))
        engine.dispose()
        return
    engine = build_engine(settings.resolved_database_url)  # connects as superuser postgres
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(sql))
    engine.dispose()


def _verify(runtime: Runtime) -> dict[str, object]:
    return run(runtime, "audit.verify").result


def test_intact_chain_verifies(settings: Settings, runtime: Runtime) -> None:
    _fill(runtime)
    result = _verify(runtime)
    assert result["ok"] is True
    assert result["checked"] == 4
    assert result["head_seq"] == 4
    rows = audit_rows(runtime)
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, len(rows)))


def test_an_edited_record_is_named(settings: Settings, runtime: Runtime) -> None:
    _fill(runtime)
    _tamper(settings, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2")
    result = _verify(runtime)
    assert result["ok"] is False
    assert result["first_broken_seq"] == 2
    assert "edited" in str(result["problem"])


def test_a_deleted_record_is_named(settings: Settings, runtime: Runtime) -> None:
    _fill(runtime)
    _tamper(settings, "DELETE FROM audit_log WHERE seq = 3")
    result = _verify(runtime)
    assert result["ok"] is False
    assert result["first_broken_seq"] == 4
    assert "missing" in str(result["problem"])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'success'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_the_database_refuses_to_change_history(
    settings: Settings, runtime: Runtime, statement: str
) -> None:
    if settings.is_sqlite and statement.startswith("TRUNCATE"):
        pytest.skip("SQLite has no TRUNCATE")
    _fill(runtime, 1)
    with pytest.raises(DBAPIError, match="append-only"), runtime.session() as session:
        session.execute(text(statement))
    assert len(audit_rows(runtime)) == 1


def test_payload_is_scrubbed_before_it_is_hashed_and_stored(
    settings: Settings, runtime: Runtime
) -> None:
    prepare(runtime)
    run(runtime, "queue.pause", {"reason": "call +31 6 1234 5678 or ann@example.com"})
    [row] = audit_rows(runtime)
    assert row.reason == "call [Filtered phone] or [Filtered email]"
    assert row.payload == {"reason": "call [Filtered phone] or [Filtered email]"}


def test_a_deleted_tail_is_named_once_the_chain_moves_on(
    settings: Settings, runtime: Runtime
) -> None:
    _fill(runtime, 3)
    _tamper(settings, "DELETE FROM audit_log WHERE seq = 3")
    run(runtime, "queue.resume")
    result = _verify(runtime)
    assert result["ok"] is False
    assert result["first_broken_seq"] == 4
    assert "missing" in str(result["problem"])


def test_concurrent_appends_form_one_unbroken_chain(settings: Settings, runtime: Runtime) -> None:
    prepare(runtime)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: run(runtime, "audit.verify"), range(12)))
    rows = audit_rows(runtime)
    assert [row.seq for row in rows] == list(range(1, 13))
    key = runtime.settings.audit_mac_key()
    assert all(audit.hash_fields(audit.record_fields(row), key) == row.hash for row in rows)
    assert _verify(runtime)["ok"] is True


def test_the_split_canonical_form_hashes_like_the_whole(settings: Settings) -> None:
    entry = audit.AuditEntry(
        actor=ADMIN,
        action="queue.pause",
        outcome="success",
        payload={"reason": 'naïve "quote" seq prev_hash', "nested": {"n": 1.0}},
        duration_ms=1.5,
    )
    record = audit._new_record(entry)
    head, middle, tail = audit.canonical_parts(record)
    record.seq, record.prev_hash = 42, "ab" * 32
    spliced = head + record.prev_hash.encode() + middle + b"42" + tail
    assert spliced.decode() == audit.canonical_json(audit.record_fields(record))


# The chain is keyed: whoever can write the database still cannot forge it -------------


def _check(runtime: Runtime, *, anchored: bool = True) -> AuditVerifyResult:
    anchor = audit_verify.read_anchor(runtime.settings) if anchored else None
    with runtime.session() as session:
        return audit_verify.verify(session, anchor=anchor)


def _rewrite_tail_without_the_key(settings: Settings, runtime: Runtime) -> None:
    """The attack: edit the last record, recompute its hash as anyone could (no key), and
    move the head along with it."""
    [last] = audit_rows(runtime)[-1:]
    last.reason = "nothing to see"
    forged = audit.hash_fields(audit.record_fields(last), None)
    _tamper(
        settings,
        f"UPDATE audit_log SET reason = 'nothing to see', hash = '{forged}' WHERE seq = {last.seq}",
    )
    _tamper(settings, f"UPDATE audit_chain_head SET hash = '{forged}' WHERE id = 1")


def test_a_record_rewritten_without_the_key_is_named(settings: Settings, runtime: Runtime) -> None:
    _fill(runtime, 3)
    if settings.is_sqlite:
        engine = build_engine(settings.resolved_database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_chain_head_guard"))
        engine.dispose()
    _rewrite_tail_without_the_key(settings, runtime)
    result = _check(runtime)
    assert result.ok is False
    assert result.first_broken_seq == 3
    assert "edited" in str(result.problem)


def test_the_chain_head_only_advances(settings: Settings, runtime: Runtime) -> None:
    _fill(runtime, 2)
    for statement in (
        "UPDATE audit_chain_head SET seq = 1 WHERE id = 1",
        "UPDATE audit_chain_head SET hash = 'x' WHERE id = 1",
        "DELETE FROM audit_chain_head",
    ):
        with pytest.raises(DBAPIError), runtime.session() as session:
            session.execute(text(statement))
    assert _check(runtime).ok is True


def test_the_exported_head_catches_a_removed_tail(settings: Settings, runtime: Runtime) -> None:
    _fill(runtime, 4)
    anchored = audit_verify.write_anchor(runtime)
    assert audit_verify.read_anchor(settings) == anchored
    # Remove the last two records and rewind the head as a superuser would.
    rows = audit_rows(runtime)
    keep = rows[-3]
    if settings.is_sqlite:
        engine = build_engine(settings.resolved_database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_chain_head_guard"))
        engine.dispose()
    _tamper(settings, f"DELETE FROM audit_log WHERE seq > {keep.seq}")
    _tamper(
        settings,
        f"UPDATE audit_chain_head SET seq = {keep.seq}, hash = '{keep.hash}', "
        f"prev_hash = '{keep.prev_hash}' WHERE id = 1",
    )
    plain = _check(runtime, anchored=False)
    assert plain.ok is True  # on its own the shortened chain is consistent...
    result = _verify(runtime)  # ...but audit.verify checks it against the exported head
    assert result["ok"] is False
    assert "records were removed" in str(result["problem"])
    assert result["anchor_seq"] == anchored.seq


def _unacknowledged_event(runtime: Runtime) -> str:
    with runtime.session() as session:
        event = events.emit(session, severity="warning", source="test", message="disk 91%")
        return str(event.id)


def test_concurrent_actions_commit_each_effect_with_its_one_record(
    settings: Settings, runtime: Runtime
) -> None:
    """On PostgreSQL the append and its COMMIT go out together; with and without an
    idempotency key (kept in the same transaction or after it) every effect commits with
    exactly one record, and a replay answers the same record."""
    prepare(runtime)
    ids = [_unacknowledged_event(runtime) for _ in range(12)]

    def ack(index: int) -> ActionResponse:
        key = f"ack-{index}" if index % 2 else None
        return run(runtime, "dashboard.alert.ack", {"event_id": ids[index]}, key=key)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(ack, range(len(ids))))
    assert sorted(answer.audit_seq or 0 for answer in answers) == list(range(1, 13))
    with runtime.session() as session:
        acknowledged = session.scalars(
            select(SystemEvent.id).where(SystemEvent.acknowledged_at.is_not(None))
        ).all()
    assert sorted(str(event_id) for event_id in acknowledged) == sorted(ids)
    assert outcomes(runtime, "dashboard.alert.ack") == ["success"] * 12
    again = run(runtime, "dashboard.alert.ack", {"event_id": ids[1]}, key="ack-1")
    assert again.replayed is True
    assert again.audit_seq == answers[1].audit_seq
    assert _verify(runtime)["ok"] is True


def test_without_a_head_row_an_action_changes_nothing(settings: Settings, runtime: Runtime) -> None:
    """The record cannot be chained, so the action's effect must not commit either (on
    PostgreSQL the statement fails before the COMMIT sent with it)."""
    prepare(runtime)
    event_id = _unacknowledged_event(runtime)
    if settings.is_sqlite:
        engine = build_engine(settings.resolved_database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_chain_head_no_delete"))
        engine.dispose()
    _tamper(settings, "DELETE FROM audit_chain_head")
    with pytest.raises(AgentOSError) as refused:
        run(runtime, "dashboard.alert.ack", {"event_id": event_id})
    assert refused.value.code == "AUDIT_HEAD_MISSING"
    with runtime.session() as session:
        event = session.get(SystemEvent, uuid.UUID(event_id))
        assert event is not None
        assert event.acknowledged_at is None
    assert audit_rows(runtime) == []


def test_quotes_and_escapes_in_a_record_survive_the_one_query_append(
    settings: Settings, runtime: Runtime
) -> None:
    """On PostgreSQL the append's values are bound client-side into one query with its
    COMMIT: a value shaped like SQL stays a value, and the record hashes as written."""
    prepare(runtime)
    event_id = _unacknowledged_event(runtime)
    reason = "it's \\x00 $$; COMMIT; DROP TABLE audit_log; -- \\' \" é 🙂 \u2028"
    answer = run(runtime, "dashboard.alert.ack", {"event_id": event_id, "reason": reason})
    (record,) = audit_rows(runtime, "dashboard.alert.ack")
    assert record.seq == answer.audit_seq
    assert record.reason == reason
    assert record.payload is not None
    assert record.payload["reason"] == reason
    assert _verify(runtime)["ok"] is True


def test_appends_chain_on_connections_whose_prepared_statements_were_dropped(
    settings: Settings, runtime: Runtime
) -> None:
    """psycopg drops every prepared statement of a connection (DEALLOCATE ALL) when a
    transaction on it rolls back after it prepared some of its own: the append, a function
    on PostgreSQL (migration 0020), does not depend on any of them."""
    prepare(runtime)
    answers = []
    for _ in range(4):
        with runtime.session() as session:
            for _ in range(6):  # psycopg prepares a statement from its 5th run
                session.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
            session.rollback()
        event_id = _unacknowledged_event(runtime)
        answers.append(run(runtime, "dashboard.alert.ack", {"event_id": event_id}))
    seqs = [answer.audit_seq for answer in answers]
    assert seqs == sorted(seqs)
    assert [record.seq for record in audit_rows(runtime, "dashboard.alert.ack")] == seqs
    assert _verify(runtime)["ok"] is True
