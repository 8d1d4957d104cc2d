"""system.backup / .list / .verify / .delete and system.restore, on both databases."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from agentos.db.base import Base
from agentos.db.models import AuditRecord, Backup, Job
from agentos.errors import InvalidError, NotFoundError, UnavailableError
from agentos.services import events, maintenance
from agentos.services.jobs import rollups
from agentos.services.runtime import Runtime
from agentos.services.system import backups, pg_tools
from agentos.settings import Settings
from tests.services.actions.helpers import prepare, run
from tests.support.jobs import make_actor, make_job

# What a restore writes by design: its own bookkeeping (the catalog it carries over, the
# maintenance flag and its history, its event and announcements), the audit trail after
# the backup's head (compared up to it) and the rollups it rebuilds (compared by totals).
RESTORE_WRITES = {
    "backups",
    "settings",
    "settings_history",
    "system_events",
    "bus_messages",
    "audit_log",
    "audit_chain_head",
    "job_status_rollup",
    "job_status_deltas",
    "job_progress_marks",
    "step_status_rollup",
    "step_status_deltas",
}


def _fingerprints(runtime: Runtime, *, audit_up_to: int) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its rows (ordered by primary key)."""
    found = {}
    with runtime.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            if table.name == "audit_log":
                query = query.where(table.c.seq <= audit_up_to)
            elif table.name in RESTORE_WRITES:
                continue
            rows = connection.execute(query).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            found[table.name] = (len(rows), digest)
    with runtime.session() as session:
        found["rollup totals"] = (0, repr(sorted(rollups.status_counts(session).items())))
    return found


def _populate(runtime: Runtime, jobs: int = 3) -> None:
    with runtime.session() as session:
        owner = make_actor(session)
        for index in range(jobs):
            make_job(session, owner, ("queued", "completed", "failed")[index % 3], stages=1)


def test_backup_then_changes_then_restore_brings_every_table_back(runtime: Runtime) -> None:
    prepare(runtime)
    _populate(runtime)
    run(runtime, "queue.pause")
    taken = run(runtime, "system.backup", {"label": "before-changes"}).result
    audit_seq = taken["audit_seq"]
    before = _fingerprints(runtime, audit_up_to=audit_seq)

    _populate(runtime, jobs=4)
    run(runtime, "queue.resume")
    with runtime.session() as session:
        session.execute(update(Job).values(title="changed"))
    between = [row.seq for row in _audit(runtime) if row.seq > audit_seq]
    assert between, "actions after the backup leave audit records"

    restored = run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True})

    assert _fingerprints(runtime, audit_up_to=audit_seq) == before
    result = restored.result
    export = Path(result["audit_export_path"])
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    header, records = lines[0], lines[1:]
    assert header["format"] == "agentos-audit-export/1"
    assert [record["seq"] for record in records] == between
    assert result["audit_records_exported"] == len(records)
    # The restore's own record is the first after the backup's head and names the export.
    audit = _audit(runtime)
    assert [row.seq for row in audit][-1] == audit_seq + 1
    assert audit[-1].action == "system.restore"
    assert audit[-1].result is not None
    assert audit[-1].result["audit_export_path"] == str(export)
    assert run(runtime, "audit.verify").result["ok"] is True
    # Maintenance went back to what it was; the backup is still in the catalog.
    with runtime.session() as session:
        assert maintenance.read(session).enabled is False
        assert session.get(Backup, uuid.UUID(taken["id"])) is not None


def _audit(runtime: Runtime) -> list[AuditRecord]:
    with runtime.session() as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))


def _job_count(runtime: Runtime) -> int:
    with runtime.session() as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def test_a_corrupted_backup_is_refused_and_verify_says_why(runtime: Runtime) -> None:
    prepare(runtime)
    taken = run(runtime, "system.backup").result
    _populate(runtime)
    path = Path(taken["path"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    verified = run(runtime, "system.backup.verify", {"backup_id": taken["id"]}).result
    assert verified["ok"] is False
    assert verified["checksum_ok"] is False
    assert "checksum" in verified["problems"][0]
    with pytest.raises(InvalidError) as refused:
        run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True})
    assert refused.value.code == "BACKUP_CORRUPT"
    assert _job_count(runtime) == 3


def test_a_backup_from_a_newer_schema_is_refused(runtime: Runtime) -> None:
    prepare(runtime)
    taken = run(runtime, "system.backup").result
    with runtime.session() as session:
        session.execute(
            update(Backup)
            .where(Backup.id == uuid.UUID(taken["id"]))
            .values(schema_revision="0099_from_the_future")
        )
    with pytest.raises(InvalidError) as refused:
        run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True})
    assert refused.value.code == "BACKUP_SCHEMA_NEWER"
    assert "0099_from_the_future" in refused.value.message


def test_restore_needs_confirmation_and_dry_run_changes_nothing(runtime: Runtime) -> None:
    prepare(runtime)
    taken = run(runtime, "system.backup").result
    _populate(runtime)
    with pytest.raises(InvalidError) as refused:
        run(runtime, "system.restore", {"backup_id": taken["id"]})
    assert refused.value.code == "CONFIRMATION_REQUIRED"
    rehearsal = run(runtime, "system.restore", {"backup_id": taken["id"], "dry_run": True})
    assert rehearsal.result["dry_run"] is True
    assert rehearsal.result["audit_records_exported"] >= 1
    assert _job_count(runtime) == 3


def test_a_failed_restore_changes_nothing_and_leaves_maintenance_as_it_was(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentos.services.system import restore

    prepare(runtime)
    taken = run(runtime, "system.backup").result
    _populate(runtime)

    def broken(runtime: Runtime, backup: object) -> None:
        raise UnavailableError("the archive could not be read", code="BACKUP_TOOL_FAILED")

    monkeypatch.setattr(restore, "_replace_database", broken)
    with pytest.raises(UnavailableError):
        run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True})
    assert _job_count(runtime) == 3
    with runtime.session() as session:
        assert maintenance.read(session).enabled is False
    assert _audit(runtime)[-1].outcome == "failed"


def test_list_verify_and_delete(runtime: Runtime) -> None:
    prepare(runtime)
    first = run(runtime, "system.backup", {"label": "one"}).result
    second = run(runtime, "system.backup", {"label": "two"}).result
    listed = run(runtime, "system.backup.list").result
    assert [item["label"] for item in listed["backups"]] == ["two", "one"]
    assert listed["total_bytes"] == first["size_bytes"] + second["size_bytes"]
    assert first["sha256"] == hashlib.sha256(Path(first["path"]).read_bytes()).hexdigest()
    assert first["schema_revision"] is not None

    verified = run(runtime, "system.backup.verify", {"backup_id": first["id"]}).result
    assert verified["ok"] is True, verified
    assert verified["entries"]
    assert verified["entries"] > 10

    rehearsal = run(runtime, "system.backup.delete", {"backup_id": first["id"], "dry_run": True})
    assert rehearsal.result["bytes_freed"] == first["size_bytes"]
    assert Path(first["path"]).is_file()
    run(runtime, "system.backup.delete", {"backup_id": first["id"], "confirm": True})
    assert not Path(first["path"]).exists()
    assert not Path(first["path"] + backups.SIDECAR).exists()
    listed = run(runtime, "system.backup.list").result
    assert [item["id"] for item in listed["backups"]] == [second["id"]]
    with pytest.raises(NotFoundError):
        run(runtime, "system.backup.verify", {"backup_id": first["id"]})


def test_a_backup_whose_row_is_gone_still_restores_from_its_sidecar(runtime: Runtime) -> None:
    prepare(runtime)
    taken = run(runtime, "system.backup").result
    with runtime.session() as session:
        session.execute(text("DELETE FROM backups"))
    listed = run(runtime, "system.backup.list").result["backups"]
    assert [item["id"] for item in listed] == [taken["id"]]
    run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True})
    with runtime.session() as session:
        assert session.get(Backup, uuid.UUID(taken["id"])) is not None


def test_an_older_backup_is_migrated_forward(embedded_runtime: Runtime) -> None:
    """A SQLite backup taken at the previous revision restores and is upgraded to head."""
    from alembic import command
    from sqlalchemy import create_engine

    from agentos.db import migrate
    from agentos.services import schema_check

    runtime = embedded_runtime
    prepare(runtime)
    taken = run(runtime, "system.backup").result
    path = Path(taken["path"])
    older = create_engine(f"sqlite:///{path}")
    with older.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "-1")
    older.dispose()
    with runtime.session() as session:
        session.execute(
            update(Backup)
            .where(Backup.id == uuid.UUID(taken["id"]))
            .values(sha256=backups.sha256_of(path), schema_revision=_previous_revision())
        )

    result = run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True}).result
    assert result["restored_revision"] == _previous_revision()
    assert result["migrated_to"] == migrate.head_revision()
    assert schema_check.compare(runtime.engine).differences == []


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    from agentos.db import migrate

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    head = scripts.get_revision(migrate.head_revision())
    assert head is not None
    assert isinstance(head.down_revision, str)
    return head.down_revision


def test_pg_dump_of_another_major_version_is_refused_naming_both(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if runtime.settings.is_sqlite:
        pytest.skip("pg_dump is the PostgreSQL deployment's")
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 11.22'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pg_tools, "_candidates", lambda name, major, bin_dir: [str(fake)])
    pg_tools._client_major.cache_clear()
    _major, full = pg_tools.server_version(runtime.engine)
    with pytest.raises(UnavailableError) as refused:
        run(runtime, "system.backup")
    assert refused.value.code == "PG_CLIENT_MISMATCH"
    assert full in refused.value.message
    assert "(11)" in refused.value.message
    assert list(runtime.settings.backups_dir.glob("*")) == []


def test_a_restore_blocked_by_a_lock_changes_nothing(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL restores in one transaction: a lock it cannot get leaves the data as is."""
    if runtime.settings.is_sqlite:
        pytest.skip("the one-transaction restore is PostgreSQL's")
    from agentos.services.system import restore

    monkeypatch.setattr(restore, "LOCK_TIMEOUT", "1s")
    prepare(runtime)
    taken = run(runtime, "system.backup").result
    _populate(runtime)
    blocker = runtime.engine.connect()
    try:
        blocker.execute(text("LOCK TABLE jobs IN ACCESS SHARE MODE"))
        with pytest.raises(Exception) as failed:
            run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True})
        assert getattr(failed.value, "code", None) == "RESTORE_LOCKED"
    finally:
        blocker.rollback()
        blocker.close()
    assert _job_count(runtime) == 3


def test_bus_followers_hear_what_comes_after_an_embedded_restore(
    embedded_settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """The database bus numbers its rows; a restore must not send the numbers back below
    what a follower (the server) has already read."""
    runtime = make_runtime(embedded_settings)
    prepare(runtime)
    taken = run(runtime, "system.backup").result
    for _ in range(5):
        run(runtime, "queue.pause")
    follower = make_runtime(embedded_settings)
    subscription = follower.backends.bus.subscribe(events.CHANGES_CHANNEL)
    try:
        while subscription.get(timeout_s=0.5) is not None:
            pass
        run(runtime, "system.restore", {"backup_id": taken["id"], "confirm": True})
        run(runtime, "queue.resume")
        heard = []
        deadline = time.monotonic() + 10
        while "queue.resumed" not in heard and time.monotonic() < deadline:
            event = subscription.get(timeout_s=0.5)
            if event is not None:
                heard.append(event.payload.get("kind"))
        assert "queue.resumed" in heard
    finally:
        subscription.close()
