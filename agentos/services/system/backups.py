"""Verified database backups in the home's backups/ folder.

PostgreSQL: `pg_dump --format=custom` of one exported snapshot, so the schema revision and
the audit chain head recorded with the backup are exactly those inside it. SQLite: the
online backup API into a single self-contained file. Each backup is the archive plus a
JSON sidecar that repeats its catalog row, so a backup still restores after the
`backups` table was reset (`find` falls back to the sidecars).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import tempfile
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Backup
from agentos.errors import NotFoundError
from agentos.schemas.system import (
    BackupDeleteResult,
    BackupKind,
    BackupList,
    BackupRead,
    BackupVerifyResult,
)
from agentos.services.context import Actor
from agentos.services.outbox import after_commit
from agentos.services.runtime import Runtime
from agentos.services.security.audit import HEAD_ID, HEAD_TABLE
from agentos.services.system import pg_tools
from agentos.settings import Settings

CHUNK_BYTES = 1 << 20
SUFFIX: dict[str, str] = {"pg_dump": ".dump", "sqlite": ".sqlite3"}
SIDECAR = ".json"
PARTIAL = ".partial"


@dataclass(frozen=True)
class Archive:
    """What writing an archive found out."""

    size_bytes: int
    sha256: str
    schema_revision: str | None
    audit_seq: int | None


def kind_of(settings: Settings) -> BackupKind:
    return "sqlite" if settings.is_sqlite else "pg_dump"


def file_of(settings: Settings, name: str) -> Path:
    """A backup's file by its stored name (only names inside backups/ are accepted)."""
    return settings.backups_dir / Path(name).name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# --- writing -----------------------------------------------------------------------------


def create(session: Session, *, runtime: Runtime, label: str | None, actor: Actor) -> BackupRead:
    """Write a consistent backup and record it (row and sidecar)."""
    settings = runtime.settings
    settings.ensure_home()
    backup_id, started = uuid.uuid4(), utcnow()
    kind = kind_of(settings)
    name = f"agentos-{started:%Y%m%d-%H%M%S}-{backup_id.hex[:8]}{SUFFIX[kind]}"
    path = file_of(settings, name)
    partial = path.with_name(path.name + PARTIAL)
    try:
        archive = _copy_sqlite(runtime, partial) if kind == "sqlite" else _dump(runtime, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    row = Backup(
        id=backup_id,
        label=label,
        path=name,
        engine="sqlite" if kind == "sqlite" else "postgresql",
        kind=kind,
        size_bytes=archive.size_bytes,
        sha256=archive.sha256,
        schema_revision=archive.schema_revision,
        audit_seq=archive.audit_seq,
        started_at=started,
        finished_at=utcnow(),
        created_by=actor.name,
        created_at=started,
    )
    session.add(row)
    session.flush()
    read = _read(settings, row)
    write_sidecar(settings, read)
    return read


def _private_file(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def _dump(runtime: Runtime, target: Path) -> Archive:
    """pg_dump of one exported snapshot, hashed as it streams to the file."""
    engine, settings = runtime.engine, runtime.settings
    major, full = pg_tools.server_version(engine)
    program = pg_tools.client("pg_dump", major=major, server=full, bin_dir=settings.pg_bin_dir)
    connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            audit_seq = connection.execute(
                select(HEAD_TABLE.c.seq).where(HEAD_TABLE.c.id == HEAD_ID)
            ).scalar()
            command = [program, "--format=custom", f"--snapshot={snapshot}", "--no-password"]
            size, digest = _stream(command, target, pg_tools.environment(engine.url))
    finally:
        connection.close()
    return Archive(size, digest, revision, None if audit_seq is None else int(audit_seq))


def _stream(command: list[str], target: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run `command`, writing its stdout to `target` while hashing it; (size, sha256)."""
    digest, size = hashlib.sha256(), 0
    with tempfile.TemporaryFile() as errors, os.fdopen(_private_file(target), "wb") as out:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert process.stdout is not None
        while chunk := process.stdout.read(CHUNK_BYTES):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        process.stdout.close()
        if process.wait() != 0:
            errors.seek(0)
            raise pg_tools.failure(command[0], errors.read(), process.returncode)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def _copy_sqlite(runtime: Runtime, target: Path) -> Archive:
    """The online backup API: a consistent copy while others keep writing."""
    os.close(_private_file(target))
    source = runtime.engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            source.driver_connection.backup(copy)  # type: ignore[union-attr]
            # One self-contained file: no -wal beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            revision = _scalar(copy, "SELECT version_num FROM alembic_version")
            audit_seq = _scalar(copy, f"SELECT seq FROM audit_chain_head WHERE id = {HEAD_ID}")
        finally:
            copy.close()
    finally:
        source.close()
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())
    return Archive(
        target.stat().st_size,
        sha256_of(target),
        None if revision is None else str(revision),
        None if audit_seq is None else int(audit_seq),
    )


def _scalar(connection: sqlite3.Connection, query: str) -> Any:
    try:
        row = connection.execute(query).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def write_sidecar(settings: Settings, backup: BackupRead) -> None:
    data = backup.model_dump(mode="json", exclude={"file_present", "path"})
    data["file"] = Path(backup.path).name
    sidecar = file_of(settings, Path(backup.path).name + SIDECAR)
    with os.fdopen(_private_file(sidecar), "w") as handle:
        json.dump(data, handle, indent=1)


# --- reading -----------------------------------------------------------------------------


def _read(settings: Settings, row: Backup) -> BackupRead:
    path = file_of(settings, row.path)
    return BackupRead(
        id=row.id,
        label=row.label,
        kind=row.kind
        if row.kind in SUFFIX
        else ("sqlite" if row.engine == "sqlite" else "pg_dump"),
        engine=row.engine,
        path=str(path),
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        schema_revision=row.schema_revision,
        audit_seq=row.audit_seq,
        started_at=row.started_at,
        finished_at=row.finished_at,
        created_by=row.created_by,
        verified_at=row.verified_at,
        file_present=path.is_file(),
    )


def _sidecars(settings: Settings) -> dict[uuid.UUID, BackupRead]:
    found: dict[uuid.UUID, BackupRead] = {}
    directory = settings.backups_dir
    if not directory.is_dir():
        return found
    for sidecar in directory.glob(f"*{SIDECAR}"):
        with suppress(OSError, ValueError, TypeError):
            data = json.loads(sidecar.read_text())
            path = file_of(settings, str(data.pop("file")))
            backup = BackupRead.model_validate(
                {**data, "path": str(path), "file_present": path.is_file()}
            )
            found[backup.id] = backup
    return found


def find(session: Session, *, settings: Settings) -> BackupList:
    """Every backup, newest first: the catalog plus files only a sidecar still describes."""
    rows = session.scalars(select(Backup).order_by(Backup.created_at.desc())).all()
    listed = {row.id: _read(settings, row) for row in rows}
    for backup_id, backup in _sidecars(settings).items():
        listed.setdefault(backup_id, backup)
    backups = sorted(listed.values(), key=_started, reverse=True)
    return BackupList(
        backups=backups,
        total_bytes=sum(item.size_bytes for item in backups if item.file_present),
        directory=str(settings.backups_dir),
    )


def _started(backup: BackupRead) -> datetime:
    return backup.started_at or datetime.min.replace(tzinfo=UTC)


def require(session: Session, *, settings: Settings, backup_id: uuid.UUID) -> BackupRead:
    row = session.get(Backup, backup_id)
    found = _read(settings, row) if row is not None else _sidecars(settings).get(backup_id)
    if found is None:
        raise NotFoundError(
            f"no backup {backup_id}; `agentos backup list` shows them", code="BACKUP_NOT_FOUND"
        )
    return found


def adopt(session: Session, *, settings: Settings, backups: list[BackupRead]) -> int:
    """Put catalog rows back for backups whose row is gone (after a restore or a reset)."""
    present = set(session.scalars(select(Backup.id)))
    added = 0
    for backup in backups:
        if backup.id in present or not backup.file_present:
            continue
        session.add(
            Backup(
                id=backup.id,
                label=backup.label,
                path=Path(backup.path).name,
                engine=backup.engine,
                kind=backup.kind,
                size_bytes=backup.size_bytes,
                sha256=backup.sha256,
                schema_revision=backup.schema_revision,
                audit_seq=backup.audit_seq,
                started_at=backup.started_at,
                finished_at=backup.finished_at,
                created_by=backup.created_by,
                created_at=backup.started_at or utcnow(),
                verified_at=backup.verified_at,
            )
        )
        added += 1
    session.flush()
    return added


# --- verifying and deleting ----------------------------------------------------------------


def verify(session: Session, *, runtime: Runtime, backup_id: uuid.UUID) -> BackupVerifyResult:
    """Recompute the checksum; then list the archive (pg_restore --list) or check the
    SQLite file's integrity, which is what a restore would read."""
    settings = runtime.settings
    backup = require(session, settings=settings, backup_id=backup_id)
    path = Path(backup.path)
    actual = sha256_of(path) if path.is_file() else None
    problems: list[str] = []
    if actual is None:
        problems.append(f"the file {path} is missing")
    elif actual != backup.sha256:
        problems.append("the checksum does not match: the file changed since the backup")
    check, entries = "not run", None
    if not problems:
        check, entries, found = restore_check(runtime, backup)
        problems.extend(found)
    result = BackupVerifyResult(
        backup_id=backup.id,
        ok=not problems,
        checksum_ok=actual == backup.sha256,
        expected_sha256=backup.sha256,
        actual_sha256=actual,
        restore_check=check,
        entries=entries,
        problems=problems,
    )
    row = session.get(Backup, backup.id)
    if result.ok and row is not None:
        row.verified_at = utcnow()
        session.flush()
    return result


def restore_check(runtime: Runtime, backup: BackupRead) -> tuple[str, int | None, list[str]]:
    """(what was run, entries or tables found, problems)."""
    path = Path(backup.path)
    if backup.kind == "sqlite":
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as copy:
                verdict = [row[0] for row in copy.execute("PRAGMA integrity_check")]
                tables = copy.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
        except sqlite3.Error as exc:
            return "PRAGMA integrity_check", None, [f"not a readable SQLite database: {exc}"]
        problems = [] if verdict == ["ok"] else [f"integrity_check: {'; '.join(verdict[:3])}"]
        return "PRAGMA integrity_check", int(tables), problems
    if runtime.settings.is_sqlite:
        return "not run", None, ["a PostgreSQL archive cannot be checked on a SQLite deployment"]
    major, full = pg_tools.server_version(runtime.engine)
    program = pg_tools.client(
        "pg_restore", major=major, server=full, bin_dir=runtime.settings.pg_bin_dir
    )
    done = subprocess.run([program, "--list", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        return "pg_restore --list", None, [str(pg_tools.failure(program, done.stderr, 1))]
    entries = [line for line in done.stdout.decode().splitlines() if line and line[0] != ";"]
    return "pg_restore --list", len(entries), []


def delete(
    session: Session, *, settings: Settings, backup_id: uuid.UUID, dry_run: bool
) -> BackupDeleteResult:
    backup = require(session, settings=settings, backup_id=backup_id)
    path = Path(backup.path)
    size = path.stat().st_size if path.is_file() else 0
    if not dry_run:
        row = session.get(Backup, backup.id)
        if row is not None:
            session.delete(row)
            session.flush()

        def remove_files() -> None:
            path.unlink(missing_ok=True)
            path.with_name(path.name + SIDECAR).unlink(missing_ok=True)

        after_commit(session, remove_files)
    return BackupDeleteResult(
        backup_id=backup.id, path=str(path), bytes_freed=size, dry_run=dry_run
    )
