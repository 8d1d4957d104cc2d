"""The audit chain: verification, tamper detection, append-only triggers."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from agentos.db.session import build_engine, session_scope
from agentos.settings import Settings
from tests.services.actions.helpers import audit_rows, prepare, run


def _fill(settings: Settings, count: int = 4) -> None:
    prepare(settings)
    for index in range(count):
        run(settings, "queue.pause" if index % 2 == 0 else "queue.resume", {"reason": f"r{index}"})


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


def _verify(settings: Settings) -> dict[str, object]:
    return run(settings, "audit.verify").result


def test_intact_chain_verifies(settings: Settings) -> None:
    _fill(settings)
    result = _verify(settings)
    assert result["ok"] is True
    assert result["checked"] == 4
    assert result["head_seq"] == 4
    rows = audit_rows(settings)
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, len(rows)))


def test_an_edited_record_is_named(settings: Settings) -> None:
    _fill(settings)
    _tamper(settings, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2")
    result = _verify(settings)
    assert result["ok"] is False
    assert result["first_broken_seq"] == 2
    assert "edited" in str(result["problem"])


def test_a_deleted_record_is_named(settings: Settings) -> None:
    _fill(settings)
    _tamper(settings, "DELETE FROM audit_log WHERE seq = 3")
    result = _verify(settings)
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
def test_the_database_refuses_to_change_history(settings: Settings, statement: str) -> None:
    if settings.is_sqlite and statement.startswith("TRUNCATE"):
        pytest.skip("SQLite has no TRUNCATE")
    _fill(settings, 1)
    with pytest.raises(DBAPIError, match="append-only"), session_scope(settings) as session:
        session.execute(text(statement))
    assert len(audit_rows(settings)) == 1


def test_payload_is_scrubbed_before_it_is_hashed_and_stored(settings: Settings) -> None:
    prepare(settings)
    run(settings, "queue.pause", {"reason": "call +31 6 1234 5678 or ann@example.com"})
    [row] = audit_rows(settings)
    assert row.reason == "call [Filtered phone] or [Filtered email]"
    assert row.payload == {"reason": "call [Filtered phone] or [Filtered email]"}
