"""`db reset-and-seed`: the seed's four-step recovery as one service.

1. reset the schema through the migrations (so indexes, constraints and anything a later
   revision adds come back exactly as migrated);
2. generate realistic, deterministic data (see `rows` and `job_rows`) and write it in bulk
   (`bulk`); unfinished jobs run on the demo video (`demo`), so a worker started on the
   seeded home completes them; with at least `SeedOptions.pause_queue_from` of them to
   run, the queue is paused instead (the result says so) until an operator resumes it;
3. clear the SSOT cache key, so no dashboard serves the old database;
4. verify: row counts equal what was generated, `db check` finds nothing, the cache key is
   gone.

Unlike other services this one takes the settings, not a session: it drops and recreates
the schema, which no caller's transaction can contain, so it owns its transactions.
"""

from __future__ import annotations

import secrets
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from agentos.db.base import utcnow
from agentos.db.migrate import database_is_empty, reset_schema
from agentos.db.models import Agent, Clip, Job, ProcessingStep, SystemEvent, User
from agentos.schemas.db import SchemaReport
from agentos.schemas.seed import SeedOptions, SeedProgress, SeedResult, SeedTableCount
from agentos.services import queue, schema_check
from agentos.services.context import Actor
from agentos.services.jobs import marks, rollups
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.services.security.passwords import generate_password, hash_password
from agentos.services.seed import bulk, demo, server_side
from agentos.services.seed.event_rows import EVENT_COLUMNS, make_events
from agentos.services.seed.job_rows import JobGenerator
from agentos.services.seed.rows import JOB_OWNER_ROLES, SeedUser, Tally, make_users
from agentos.settings import Settings

ADMIN_USERNAME = "admin"
SEED_ACTOR = Actor(name="db reset-and-seed", role="admin", source="system")
USER_COLUMNS = ("id", "username", "email", "role", "password_hash", "must_change_password")


def is_empty(runtime: Runtime) -> bool:
    """True when the database holds no rows (a fresh or freshly migrated database)."""
    return database_is_empty(runtime.engine)


def reset_and_seed(
    runtime: Runtime,
    *,
    options: SeedOptions | None = None,
    progress: SeedProgress | None = None,
    now: datetime | None = None,
) -> SeedResult:
    """Reset the database and fill it with seed data; `problems` lists failed checks."""
    settings = runtime.settings
    options = options or SeedOptions()
    report = progress or (lambda phase, done, total: None)
    random_seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    now = now or utcnow()
    phases: dict[str, float] = {}
    started = time.perf_counter()

    engine = runtime.engine
    report("reset", 0, 1)
    reset_schema(engine)
    removed = clean_files(settings) if options.clean else 0
    phases["reset"] = time.perf_counter() - started
    report("reset", 1, 1)

    report("demo", 0, 1)
    demo_started = time.perf_counter()
    media = demo.prepare(settings)
    phases["demo"] = time.perf_counter() - demo_started
    report("demo", 1, 1)

    password = generate_password()
    # argon2 is slow on purpose; hashed before the load so rows/s measures the load alone.
    password_hash = hash_password(password)
    load_started = time.perf_counter()
    tally, written = _load(runtime, options, random_seed, now, password_hash, media, report)
    phases["load"] = time.perf_counter() - load_started
    paused = _pause_if_too_many(runtime, options, tally)

    report("verify", 0, 1)
    verify_started = time.perf_counter()
    runtime.backends.cache.delete(settings.ssot_cache_key)
    verification = _verify(runtime, tally, written)
    phases["verify"] = time.perf_counter() - verify_started
    report("verify", 1, 1)

    return _result(
        settings,
        options,
        random_seed=random_seed,
        tally=tally,
        written=written,
        verification=verification,
        phases=phases,
        seconds=time.perf_counter() - started,
        password=password,
        removed=removed,
        queue_message=paused,
    )


def _pause_if_too_many(runtime: Runtime, options: SeedOptions, tally: Tally) -> str | None:
    """Pause the queue when the seed made more work than a demo should start on its own;
    the message for the result, or None (the queue runs)."""
    runnable = tally.jobs_by_status["queued"] + tally.jobs_by_status["processing"]
    limit = options.pause_queue_from
    if limit is None or runnable < limit:
        return None
    with runtime.session() as session:
        queue.pause(session, actor=SEED_ACTOR)
    return (
        f"queue paused: {runnable:,} seeded jobs are queued or processing (pausing from "
        f"{limit:,}); resume it to run them (agentos action queue.resume)"
    )


def _result(
    settings: Settings,
    options: SeedOptions,
    *,
    random_seed: int,
    tally: Tally,
    written: dict[str, int],
    verification: tuple[list[str], list[SeedTableCount], SchemaReport],
    phases: dict[str, float],
    seconds: float,
    password: str,
    removed: int,
    queue_message: str | None,
) -> SeedResult:
    problems, tables, schema_report = verification
    total_rows = sum(written.values())
    load = phases["load"]
    return SeedResult(
        dialect=schema_report.dialect,
        random_seed=random_seed,
        jobs_requested=options.jobs,
        events_requested=options.events,
        tables=tables,
        jobs_by_status=dict(sorted(tally.jobs_by_status.items())),
        steps_by_status=dict(sorted(tally.steps_by_status.items())),
        events_by_severity=dict(sorted(tally.events_by_severity.items())),
        total_rows=total_rows,
        seconds=round(seconds, 3),
        load_seconds=round(load, 3),
        rows_per_s=round(total_rows / load, 1) if load > 0 else 0.0,
        phases={name: round(value, 3) for name, value in phases.items()},
        admin_username=ADMIN_USERNAME,
        admin_password=password,
        cache_key=settings.ssot_cache_key,
        removed_files=removed,
        queue_paused=queue_message is not None,
        queue_message=queue_message,
        schema_report=schema_report,
        problems=problems,
    )


def _load(
    runtime: Runtime,
    options: SeedOptions,
    random_seed: int,
    now: datetime,
    password_hash: str,
    media: demo.DemoMedia,
    report: SeedProgress,
) -> tuple[Tally, dict[str, int]]:
    """Every row in one transaction, on a connection of its own (the bulk path tunes it)."""
    settings = runtime.settings
    users = make_users(random_seed)
    admin = users[0]
    owners = [user.id for user in users if user.role in JOB_OWNER_ROLES]
    generator = JobGenerator(
        seed=random_seed, now=now, owners=owners, clips_root=str(settings.clips_dir), demo=media
    )
    engine = _private_engine(runtime)
    private = engine is not runtime.engine
    try:
        with engine.begin() as connection, marks.unmarked(connection):
            written = _base_rows(connection, users, password_hash)
            if _server_side(connection, options):
                tally, loaded = server_side.load(
                    connection,
                    seed=random_seed,
                    now=now,
                    owners=owners,
                    clips_root=str(settings.clips_dir),
                    total_jobs=options.jobs,
                    chunk_jobs=options.batch_size,
                    progress=report,
                    demo=media,
                )
            else:
                batches = generator.batches(options.jobs, options.batch_size)
                loaded = bulk.load(connection, batches, total_jobs=options.jobs, progress=report)
                tally = generator.tally
            written.update(loaded)
            events = make_events(
                seed=random_seed,
                count=options.events,
                now=now,
                admin_id=admin.id,
                tally=tally,
            )
            written["system_events"] = bulk.insert_rows(
                connection, "system_events", EVENT_COLUMNS, events
            )
            report("events", options.events, options.events)
            rollups.rebuild(connection)
    finally:
        if private:
            engine.dispose()
    return tally, written


def _server_side(connection: Connection, options: SeedOptions) -> bool:
    """Large seeds on PostgreSQL are generated by the database (see server_side)."""
    return (
        connection.dialect.name == "postgresql"
        and options.server_side_from is not None
        and options.jobs >= options.server_side_from
    )


def _private_engine(runtime: Runtime) -> Engine:
    if runtime.settings.is_sqlite:
        return runtime.engine
    return create_engine(runtime.settings.resolved_database_url, poolclass=NullPool)


def _base_rows(connection: Connection, users: list[SeedUser], password_hash: str) -> dict[str, int]:
    rows = [
        (
            user.id,
            user.username,
            user.email,
            user.role,
            # Only the admin can log in; the others own jobs until someone sets a password.
            password_hash if user.username == ADMIN_USERNAME else None,
            user.username == ADMIN_USERNAME,
        )
        for user in users
    ]
    written = {"users": bulk.insert_rows(connection, "users", USER_COLUMNS, rows)}
    with Session(bind=connection) as session:
        ensure_default_agents(session)
        session.flush()
    written["agents"] = connection.execute(select(func.count()).select_from(Agent)).scalar_one()
    return written


COUNTED: dict[str, Any] = {
    "users": User,
    "agents": Agent,
    "jobs": Job,
    "processing_steps": ProcessingStep,
    "clips": Clip,
    "system_events": SystemEvent,
}


def _verify(
    runtime: Runtime, tally: Tally, written: dict[str, int]
) -> tuple[list[str], list[SeedTableCount], SchemaReport]:
    settings, engine = runtime.settings, runtime.engine
    problems: list[str] = []
    tables: list[SeedTableCount] = []
    with engine.connect() as connection:
        for table, model in COUNTED.items():
            rows = connection.execute(select(func.count()).select_from(model)).scalar_one()
            tables.append(SeedTableCount(table=table, rows=rows))
            if rows != written.get(table):
                problems.append(f"{table}: {rows} rows, generated {written.get(table)}")
        problems.extend(_compare_groups(connection, Job.status, tally.jobs_by_status, "jobs"))
        problems.extend(
            _compare_groups(connection, ProcessingStep.status, tally.steps_by_status, "steps")
        )
        problems.extend(
            _compare_groups(
                connection, SystemEvent.severity, tally.events_by_severity, "system_events"
            )
        )
    schema_report = schema_check.compare(engine)
    problems.extend(f"schema: {item.describe()}" for item in schema_report.differences)
    if runtime.backends.cache.get(settings.ssot_cache_key) is not None:
        problems.append(f"cache key {settings.ssot_cache_key!r} still present")
    return problems, tables, schema_report


def _compare_groups(
    connection: Connection, column: Any, expected: dict[str, int], what: str
) -> list[str]:
    rows = connection.execute(select(column, func.count()).group_by(column))
    found = {str(value): int(count) for value, count in rows}
    if found == {key: value for key, value in expected.items() if value}:
        return []
    return [f"{what} by {column.key}: database {found}, generated {dict(expected)}"]


def clean_files(settings: Settings) -> int:
    """Remove everything under the home's uploads, clips and backups; returns files removed."""
    removed = 0
    for directory in (settings.uploads_dir, settings.clips_dir, settings.backups_dir):
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            removed += _remove(entry)
    return removed


def _remove(entry: Path) -> int:
    if entry.is_dir() and not entry.is_symlink():
        count = sum(1 for item in entry.rglob("*") if not item.is_dir())
        shutil.rmtree(entry)
        return count
    entry.unlink(missing_ok=True)
    return 1
