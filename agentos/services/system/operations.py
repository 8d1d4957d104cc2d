"""Drain, the deep health check, system information, and database upkeep (migrate, vacuum)."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import psutil
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from agentos import __version__
from agentos.db import migrate
from agentos.db.base import Base
from agentos.db.models import ProcessingStep, Worker
from agentos.schemas.db import MigrationResult
from agentos.schemas.health import HealthPart
from agentos.schemas.system import (
    DrainResult,
    RunningWork,
    SystemHealth,
    SystemInfo,
    VacuumResult,
)
from agentos.services import config, health, maintenance, queue
from agentos.services.context import Actor
from agentos.services.runtime import Runtime

DRAIN_POLL_S = 0.25
LIBRARIES = ("fastapi", "sqlalchemy", "pydantic", "alembic", "celery", "redis", "psycopg", "av")
RUNNING_SHOWN = 100


# --- drain ---------------------------------------------------------------------------------


def drain(session: Session, *, actor: Actor, timeout_s: float) -> DrainResult:
    """Pause the queue (committed at once, so every runner stops claiming), then wait
    until nothing is processing or `timeout_s` has passed."""
    started = time.monotonic()
    queue.pause(session, actor=actor)
    session.commit()
    while True:
        running = _running(session)
        session.commit()  # a fresh snapshot on the next look
        waited = time.monotonic() - started
        if not running or waited >= timeout_s:
            return DrainResult(
                paused=True,
                drained=not running,
                waited_s=round(waited, 3),
                still_running=running,
            )
        time.sleep(min(DRAIN_POLL_S, max(0.0, timeout_s - waited)))


def _running(session: Session) -> list[RunningWork]:
    rows = session.execute(
        select(
            ProcessingStep.job_id,
            ProcessingStep.agent,
            ProcessingStep.worker_id,
            ProcessingStep.started_at,
        )
        .where(ProcessingStep.status == "running")
        .order_by(ProcessingStep.started_at)
        .limit(RUNNING_SHOWN)
    )
    return [
        RunningWork(job_id=job_id, step=agent, agent=agent, worker=worker, started_at=at)
        for job_id, agent, worker, at in rows
    ]


# --- health --------------------------------------------------------------------------------


def deep_health(session: Session, *, runtime: Runtime) -> SystemHealth:
    """/health's parts plus the workers (a heartbeat within `worker_lost_after_s`) and the
    disk under the home (free space above the upload margin), each with its latency."""
    settings = runtime.settings
    report = health.check(settings=settings, engine=runtime.engine, backends=runtime.backends)
    parts = dict(report.parts)
    parts["workers"] = _timed(lambda: _workers_part(session, runtime))
    parts["disk"] = _timed(lambda: _disk_part(runtime))
    statuses = [part.status for part in parts.values()]
    status = report.status
    if status == "healthy" and "down" in statuses:
        status = "degraded"
    return SystemHealth(status=status, parts=parts, maintenance=maintenance.read(session))


def _timed(probe: Callable[[], HealthPart]) -> HealthPart:
    started = time.perf_counter()
    part = probe()
    part.latency_ms = round((time.perf_counter() - started) * 1000, 3)
    return part


def _workers_part(session: Session, runtime: Runtime) -> HealthPart:
    since = datetime.now(UTC) - timedelta(seconds=runtime.settings.worker_lost_after_s)
    online = session.scalar(
        select(func.count()).where(Worker.status == "online", Worker.heartbeat_at >= since)
    )
    count = int(online or 0)
    return HealthPart(
        status="up" if count else "down",
        required=False,
        backend="embedded runner" if runtime.settings.is_embedded else "celery",
        detail=f"{count} online" if count else "no worker sent a heartbeat recently",
    )


def _disk_part(runtime: Runtime) -> HealthPart:
    settings = runtime.settings
    usage = shutil.disk_usage(settings.home_dir)
    low = usage.free < settings.upload_free_space_margin_bytes
    return HealthPart(
        status="down" if low else "up",
        required=False,
        backend=str(settings.home_dir),
        detail=f"{usage.free} bytes free of {usage.total}"
        + (" (below the upload margin)" if low else ""),
    )


# --- info ----------------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def info(*, runtime: Runtime) -> SystemInfo:
    settings = runtime.settings
    backends = runtime.backends
    process = psutil.Process()
    created = datetime.fromtimestamp(process.create_time(), UTC)
    broker = "redis (Celery)" if not settings.is_embedded else "in-process runner"
    return SystemInfo(
        version=__version__,
        python=f"{platform.python_implementation()} {sys.version.split()[0]}",
        libraries={name: _version(name) for name in LIBRARIES},
        hostname=socket.gethostname(),
        pid=os.getpid(),
        started_at=created,
        uptime_s=round(time.time() - process.create_time(), 3),
        deployment="embedded" if settings.is_embedded else "distributed",
        backends={
            "database": runtime.engine.dialect.name,
            "cache": backends.cache.name,
            "bus": backends.bus.name,
            "limiter": type(backends.limiter).__name__,
            "idempotency": type(backends.idempotency).__name__,
            "breakers": type(backends.breakers).__name__,
            "broker": broker,
        },
        schema_revision=migrate.current_revision(runtime.engine),
        schema_head=migrate.head_revision(),
        home=str(settings.home_dir),
        configuration={item.name: item.value for item in config.effective(runtime)},
    )


# --- database upkeep -----------------------------------------------------------------------


def migrate_database(runtime: Runtime) -> MigrationResult:
    engine = runtime.engine
    before = migrate.current_revision(engine)
    migrate.ensure_schema(engine)
    return MigrationResult(
        dialect=engine.dialect.name,
        before=before,
        after=migrate.current_revision(engine),
        head=migrate.head_revision(),
    )


def vacuum(runtime: Runtime) -> VacuumResult:
    """VACUUM (ANALYZE) outside any transaction: PostgreSQL in autocommit, SQLite on a
    connection of its own (it needs no other open transaction on the file)."""
    engine = runtime.engine
    dialect = engine.dialect.name
    before = _size(runtime)
    started = time.perf_counter()
    if dialect == "postgresql":
        statement = "VACUUM (ANALYZE)"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(statement))
    else:
        statement = "VACUUM; ANALYZE"
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
            raw.driver_connection.execute("ANALYZE")  # type: ignore[union-attr]
        finally:
            raw.close()
    return VacuumResult(
        dialect=dialect,
        statement=statement,
        seconds=round(time.perf_counter() - started, 3),
        size_before_bytes=before,
        size_after_bytes=_size(runtime),
    )


def _size(runtime: Runtime) -> int | None:
    engine = runtime.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            return int(size.scalar_one())
    path = Path(engine.url.database or "")
    return path.stat().st_size if path.is_file() else None


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table of the models (what a reset would drop)."""
    counts = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = int(session.scalar(select(func.count()).select_from(table)) or 0)
    return counts
