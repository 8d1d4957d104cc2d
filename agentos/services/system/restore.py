"""Restoring a backup without losing the audit trail.

The backup is refused unless its checksum still matches and its schema revision is one
this version ships. Then: maintenance on; every audit record written after the backup
was taken is exported (JSONL, with the chain head) to the backups folder; the database
is replaced in one step (PostgreSQL: the archive's SQL after dropping the schema, all in
one transaction, so a failure leaves the database as it was; SQLite: the online backup
API into the live file); migrated forward if the backup is older; rollups rebuilt; the
backups catalog put back; the SSOT cache cleared; maintenance back as it was. The
caller's session ends holding the audit chain head, so the action's own audit record,
which names the export file, is the first one after the restore.
"""

from __future__ import annotations

import sqlite3
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from agentos.db.migrate import current_revision, head_revision, known_revisions, upgrade_to_head
from agentos.db.models import AuditRecord, BusMessage
from agentos.errors import ConflictError, InvalidError
from agentos.schemas.health import MaintenanceState
from agentos.schemas.system import BackupRead, RestoreResult
from agentos.services import admin_data, events, maintenance
from agentos.services.context import Actor
from agentos.services.jobs import rollups
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access, audit_export, audit_verify
from agentos.services.security.audit import HEAD_ID, HEAD_TABLE, head_row_missing
from agentos.services.system import backups, controls, pg_tools

LOCK_TIMEOUT = "60s"
# One transaction for the preamble and the whole archive; the first error rolls it back.
PSQL_FLAGS = ("-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction")


def restore(
    session: Session, *, runtime: Runtime, backup_id: uuid.UUID, actor: Actor, dry_run: bool
) -> RestoreResult:
    settings = runtime.settings
    started = time.perf_counter()
    backup = backups.require(session, settings=settings, backup_id=backup_id)
    _refuse_unusable(runtime, backup)
    after_seq = backup.audit_seq or 0
    if dry_run:
        later = session.scalar(select(func.count()).where(AuditRecord.seq > after_seq))
        return RestoreResult(
            backup_id=backup.id,
            restored_revision=backup.schema_revision,
            migrated_to=head_revision(),
            audit_export_path=None,
            audit_records_exported=int(later or 0),
            audit_seq_after_restore=after_seq,
            seconds=round(time.perf_counter() - started, 3),
            dry_run=True,
        )
    before = maintenance.read(session)
    catalog = backups.find(session, settings=settings).backups
    bus_max = int(session.scalar(select(func.max(BusMessage.id))) or 0)
    label = backup.label or str(backup.id)
    maintenance.write(
        session,
        state=MaintenanceState(
            enabled=True,
            message=f"restoring backup {label}",
            retry_after_s=60,
            since=datetime.now(UTC),
        ),
        actor=actor,
    )
    session.commit()
    try:
        exported = _export_later_records(session, runtime, backup)
        session.commit()
        _replace_database(runtime, backup)
    except Exception:
        session.rollback()
        maintenance.write(session, state=before, actor=actor)
        session.commit()
        raise
    runtime.engine.dispose()
    migrated_to = _migrate_forward(runtime)
    _continue_bus_ids(session, bus_max)
    rollups.rebuild(session)
    backups.adopt(session, settings=settings, backups=catalog)
    maintenance.write(session, state=before, actor=actor)
    head = _hold_chain_head(session)
    audit_verify.write_anchor(runtime)
    _forget_caches(session, runtime, backup, exported.path)
    return RestoreResult(
        backup_id=backup.id,
        restored_revision=backup.schema_revision,
        migrated_to=migrated_to,
        audit_export_path=str(exported.path),
        audit_records_exported=exported.count,
        audit_seq_after_restore=head,
        seconds=round(time.perf_counter() - started, 3),
    )


def _refuse_unusable(runtime: Runtime, backup: BackupRead) -> None:
    kind = backups.kind_of(runtime.settings)
    if backup.kind != kind:
        raise InvalidError(
            f"backup {backup.id} is a {backup.kind} backup; this deployment restores {kind}",
            code="BACKUP_KIND_MISMATCH",
        )
    path = Path(backup.path)
    if not path.is_file():
        raise InvalidError(f"the backup file {path} is missing", code="BACKUP_FILE_MISSING")
    if backups.sha256_of(path) != backup.sha256:
        raise InvalidError(
            f"backup {backup.id} is corrupted: its checksum no longer matches; refusing to "
            "restore it",
            code="BACKUP_CORRUPT",
            details={"path": str(path), "expected_sha256": backup.sha256},
        )
    if backup.schema_revision not in known_revisions():
        raise InvalidError(
            f"backup {backup.id} is at schema revision {backup.schema_revision}, which this "
            f"version of AgentOS does not know (newest: {head_revision()}); upgrade first",
            code="BACKUP_SCHEMA_NEWER",
            details={"revision": backup.schema_revision, "head": head_revision()},
        )


def _export_later_records(
    session: Session, runtime: Runtime, backup: BackupRead
) -> audit_export.AuditExport:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = runtime.settings.backups_dir / f"audit-before-restore-{stamp}-{backup.id.hex[:8]}.jsonl"
    return audit_export.export(
        session,
        path,
        after_seq=backup.audit_seq or 0,
        purpose=f"audit records written after backup {backup.id}, kept before restoring it",
    )


def _replace_database(runtime: Runtime, backup: BackupRead) -> None:
    if backup.kind == "sqlite":
        _restore_sqlite(runtime, Path(backup.path))
    else:
        _restore_postgresql(runtime, Path(backup.path))


def _restore_sqlite(runtime: Runtime, path: Path) -> None:
    """The backup API, backwards: the archive's pages replace the live file's, under the
    database's write lock (other connections then read the restored content)."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = runtime.engine.raw_connection()
    try:
        source.backup(target.driver_connection)  # type: ignore[arg-type]
    finally:
        target.close()
        source.close()


def _restore_postgresql(runtime: Runtime, path: Path) -> None:
    """pg_restore's SQL, run by psql after dropping the schema, in one transaction."""
    engine, settings = runtime.engine, runtime.settings
    major, full = pg_tools.server_version(engine)
    restore_program = pg_tools.client(
        "pg_restore", major=major, server=full, bin_dir=settings.pg_bin_dir
    )
    psql = pg_tools.client("psql", major=major, server=full, bin_dir=settings.pg_bin_dir)
    with engine.connect() as connection:
        schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
    quoted = engine.dialect.identifier_preparer.quote(schema)
    preamble = f"SET lock_timeout = '{LOCK_TIMEOUT}'; DROP SCHEMA IF EXISTS {quoted} CASCADE;"
    if schema == "public":  # pg_dump writes CREATE SCHEMA for every schema but public
        preamble += " CREATE SCHEMA public;"
    env = pg_tools.environment(engine.url)
    with tempfile.TemporaryFile() as dump_errors, tempfile.TemporaryFile() as load_errors:
        dump = subprocess.Popen(
            [restore_program, "--no-owner", "--file=-", str(path)],
            stdout=subprocess.PIPE,
            stderr=dump_errors,
            env=env,
        )
        load = subprocess.Popen(
            [psql, *PSQL_FLAGS, "-c", preamble, "-f", "-"],
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            stderr=load_errors,
            env=env,
        )
        assert dump.stdout is not None
        dump.stdout.close()  # psql owns the pipe now; pg_restore sees it close if psql stops
        loaded, dumped = load.wait(), dump.wait()
        if loaded != 0:
            load_errors.seek(0)
            raise _restore_failed(psql, load_errors.read(), loaded)
        if dumped != 0:
            dump_errors.seek(0)
            raise _restore_failed(restore_program, dump_errors.read(), dumped)


def _restore_failed(program: str, stderr: bytes, code: int) -> Exception:
    error = pg_tools.failure(program, stderr, code)
    if b"lock timeout" in stderr:
        return ConflictError(
            "the restore could not lock the tables within "
            f"{LOCK_TIMEOUT}: another connection holds them; nothing was changed",
            code="RESTORE_LOCKED",
        )
    error.message = f"restore failed, nothing was changed: {error.message}"
    return error


def _continue_bus_ids(session: Session, before: int) -> None:
    """The database bus (embedded) numbers its rows; the restored table numbers from the
    backup's, lower than what every follower has read. Continue above the old numbers so
    they see what comes next."""
    if before <= int(session.scalar(select(func.max(BusMessage.id))) or 0):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('bus_messages', 'id'), :value)"),
            {"value": before},
        )
    else:  # rowids continue from the largest one
        session.add(BusMessage(id=before, channel="system", payload={"kind": "restored"}))
        session.flush()


def _migrate_forward(runtime: Runtime) -> str | None:
    if current_revision(runtime.engine) != head_revision():
        upgrade_to_head(runtime.engine)
    return current_revision(runtime.engine)


def _hold_chain_head(session: Session) -> int:
    """Lock the chain head until the caller commits: the next record is the caller's."""
    query = select(HEAD_TABLE.c.seq).where(HEAD_TABLE.c.id == HEAD_ID)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    seq = session.execute(query).scalar()
    if seq is None:
        raise head_row_missing()
    return int(seq)


def _forget_caches(session: Session, runtime: Runtime, backup: BackupRead, export: Path) -> None:
    runtime.backends.cache.delete(runtime.settings.ssot_cache_key)
    admin_data.store_for(runtime).invalidate()
    admin_access.forget_user(runtime)
    events.emit(
        session,
        severity="warning",
        source="system",
        kind="restored",
        message=f"database restored from backup {backup.label or backup.id}",
        details={"backup_id": str(backup.id), "audit_export": str(export)},
    )
    events.announce(session, controls.RESTORED, backup_id=str(backup.id))
