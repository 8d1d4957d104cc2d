"""Collecting the SSOT document (sections in parallel) and its byte form.

The cached value is the document's JSON behind a one-line header that carries what a
reader needs without parsing the JSON: `AOS4 <built_at epoch> <build ms>\\n<json>`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from agentos.db.session import get_engine
from agentos.errors import InternalError
from agentos.schemas.admin import (
    AdminDocument,
    AgentsWorkersSection,
    CacheMeta,
    CacheSource,
    DashboardSection,
)
from agentos.services.admin_data import sections
from agentos.settings import Settings

HEADER_MAGIC = b"AOS4 "
MAX_PARALLEL_SECTIONS = 8

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_read_engines: dict[str, Engine] = {}


@dataclasses.dataclass(frozen=True)
class CachedDocument:
    """The document's JSON bytes and what a response says about them."""

    body: bytes
    built_at: float
    build_ms: float
    source: CacheSource = "hit"
    _sections: dict[str, bytes] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def size_bytes(self) -> int:
        return len(self.body)

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.built_at)

    def meta(self) -> CacheMeta:
        return CacheMeta(
            source=self.source,
            age_s=round(self.age_s(), 3),
            built_at=datetime.fromtimestamp(self.built_at, UTC),
            build_ms=self.build_ms,
            size_bytes=self.size_bytes,
        )

    def section(self, name: str) -> bytes:
        """One section's JSON, cut out once per document and kept (views share the dict)."""
        cached = self._sections.get(name)
        if cached is None:
            cached = orjson.dumps(orjson.loads(self.body)[name])
            self._sections[name] = cached
        return cached

    def as_source(self, source: CacheSource) -> CachedDocument:
        return dataclasses.replace(self, source=source)

    def to_cache_value(self) -> bytes:
        return b"%s%.6f %.3f\n%s" % (HEADER_MAGIC, self.built_at, self.build_ms, self.body)

    @classmethod
    def from_cache_value(cls, value: bytes) -> CachedDocument | None:
        """None for a value this version cannot read (another release wrote it)."""
        if not value.startswith(HEADER_MAGIC):
            return None
        header, _, body = value.partition(b"\n")
        try:
            built_at, build_ms = (float(part) for part in header[len(HEADER_MAGIC) :].split())
        except ValueError:
            return None
        return cls(body=body, built_at=built_at, build_ms=build_ms)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def encode(document: AdminDocument) -> bytes:
    return orjson.dumps(document.model_dump(), default=_default)


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(MAX_PARALLEL_SECTIONS, thread_name_prefix="ssot-section")
        return _executor


def _sqlite_read_engine(url: str) -> Engine:
    # The shared SQLite engine opens every transaction with BEGIN IMMEDIATE (a write lock);
    # the read model only reads, so it uses deferred transactions that never block writers.
    engine = _read_engines.get(url)
    if engine is None:
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

        _read_engines[url] = engine
    return engine


@contextmanager
def read_session(settings: Settings) -> Iterator[Session]:
    if settings.is_sqlite:
        with _executor_lock:
            engine = _sqlite_read_engine(settings.resolved_database_url)
    else:
        engine = get_engine(settings)
    session = Session(bind=engine, info={"settings": settings})
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def dispose_read_engines(url: str | None = None) -> None:
    """Close the read engines (of one database URL, or all)."""
    with _executor_lock:
        urls = list(_read_engines) if url is None else [url]
        for key in urls:
            engine = _read_engines.pop(key, None)
            if engine is not None:
                engine.dispose()


def section_tasks(settings: Settings, now: datetime) -> dict[str, Callable[[Session], Any]]:
    offline_after = max(3 * settings.heartbeat_interval_s, 15.0)
    return {
        "status": sections.job_status_counts,
        "recent": lambda session: sections.recent_outcomes(session, now=now),
        "totals": sections.totals,
        "agents": sections.agent_statuses,
        "workers": lambda session: sections.worker_statuses(
            session, now=now, offline_after_s=offline_after
        ),
        "analytics": lambda session: sections.analytics(session, now=now),
        "queue": lambda session: sections.queue(session, now=now),
        "logs": sections.logs,
    }


def _run(settings: Settings, task: Callable[[Session], Any]) -> Any:
    with read_session(settings) as session:
        return task(session)


def collect(settings: Settings) -> AdminDocument:
    """The whole document, straight from the database; each part in its own session."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    futures = {
        name: _pool().submit(_run, settings, task)
        for name, task in section_tasks(settings, now).items()
    }
    try:
        parts = {name: future.result() for name, future in futures.items()}
    except Exception as exc:
        raise InternalError(f"could not collect the admin document: {exc}") from exc
    agents, workers, queue = parts["agents"], parts["workers"], parts["queue"]
    status: dict[str, int] = parts["status"]
    recent: dict[str, int] = parts["recent"]
    finished_24h = recent["completed_24h"] + recent["failed_24h"]
    online = sum(1 for worker in workers if worker.online)
    dashboard = DashboardSection(
        jobs_by_status=status,
        total_jobs=sum(status.values()),
        active_jobs=status["processing"] + status["queued"],
        completed_today=recent["completed_today"],
        failed_today=recent["failed_today"],
        throughput_per_hour=recent["completed_last_hour"],
        error_rate=round(recent["failed_24h"] / finished_24h, 4) if finished_24h else 0.0,
        agents_total=len(agents),
        agents_enabled=sum(1 for agent in agents if agent.enabled),
        workers_online=online,
        queue_paused=queue.paused,
        **parts["totals"],
    )
    return AdminDocument(
        deployment="embedded" if settings.is_embedded else "distributed",
        built_at=now,
        build_ms=round((time.perf_counter() - started) * 1000, 3),
        dashboard=dashboard,
        agents_workers=AgentsWorkersSection(
            agents=agents,
            workers=workers,
            workers_online=online,
            workers_offline=len(workers) - online,
            process=sections.process_stats() if settings.is_embedded else None,
        ),
        analytics=parts["analytics"],
        queue=queue,
        logs=parts["logs"],
    )


def build(settings: Settings, *, source: CacheSource) -> CachedDocument:
    """Collect and serialise: the one way a cached document comes to exist."""
    document = collect(settings)
    body = encode(document)
    return CachedDocument(
        body=body,
        built_at=document.built_at.timestamp(),
        build_ms=document.build_ms,
        source=source,
    )
