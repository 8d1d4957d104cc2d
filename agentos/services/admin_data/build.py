"""Collecting the SSOT document (sections in parallel) and its byte form.

The cached value is the document's JSON behind a one-line header that carries what a
reader needs without parsing the JSON: `AOS4 <built_at epoch> <build ms>\\n<json>`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy.orm import Session

from agentos import telemetry
from agentos.errors import InternalError
from agentos.schemas.admin import (
    AdminDocument,
    AgentsWorkersSection,
    CacheMeta,
    CacheSource,
    DashboardSection,
)
from agentos.services import maintenance, outages
from agentos.services.admin_data import sections, workforce
from agentos.services.runtime import Runtime
from agentos.settings import Settings

T = TypeVar("T")
HEADER_MAGIC = b"AOS4 "
MAX_PARALLEL_SECTIONS = 8

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class CachedDocument:
    """The document's JSON bytes and what a response says about them."""

    body: bytes
    built_at: float
    build_ms: float
    source: CacheSource = "hit"
    _sections: dict[str, bytes] = dataclasses.field(default_factory=dict, compare=False)
    _etags: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)
    # What a front end derives from this document once (the HTTP envelope's fixed parts).
    _derived: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def size_bytes(self) -> int:
        return len(self.body)

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.built_at)

    def meta(self) -> CacheMeta:
        return CacheMeta(**self.meta_fields())

    def meta_fields(self) -> dict[str, Any]:
        """`CacheMeta`'s fields as plain values: the hit path serialises them directly."""
        return {
            "source": self.source,
            "age_s": round(self.age_s(), 3),
            "built_at": datetime.fromtimestamp(self.built_at, UTC),
            "build_ms": self.build_ms,
            "size_bytes": len(self.body),
        }

    def section(self, name: str) -> bytes:
        """One section's JSON, cut out once per document and kept (views share the dict)."""
        cached = self._sections.get(name)
        if cached is None:
            cached = orjson.dumps(orjson.loads(self.body)[name])
            self._sections[name] = cached
        return cached

    def derived(self, key: str, make: Callable[[], T]) -> T:
        """`make()` once per document and key (copies for another source share it: put
        the source in `key` if the value depends on it)."""
        try:
            return cast("T", self._derived[key])
        except KeyError:
            value = self._derived[key] = make()
            return value

    def as_source(self, source: CacheSource) -> CachedDocument:
        return self if source == self.source else dataclasses.replace(self, source=source)

    def etag(self, section: str | None = None) -> str:
        """A weak validator of the whole document or one section, computed once (the
        envelope's timestamp differs per answer; the same data, the same tag)."""
        key = f"etag:{section or ''}"
        tag = self._etags.get(key)
        if tag is None:
            data = self.body if section is None else self.section(section)
            tag = f'W/"{int(self.built_at * 1_000_000):x}-{zlib.crc32(data):08x}"'
            self._etags[key] = tag
        return tag

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


def section_tasks(settings: Settings, now: datetime) -> dict[str, Callable[[Session], Any]]:
    offline_after = max(3 * settings.heartbeat_interval_s, 15.0)
    return {
        "status": sections.job_status_counts,
        "recent": lambda session: sections.recent_outcomes(session, now=now),
        "totals": sections.totals,
        "agents": sections.agent_statuses,
        "workers": lambda session: workforce.worker_statuses(
            session, now=now, offline_after_s=offline_after
        ),
        "analytics": lambda session: sections.analytics(session, now=now),
        "queue": lambda session: sections.queue(session, now=now),
        "logs": sections.logs,
        "maintenance": maintenance.read,
    }


def _run(runtime: Runtime, task: Callable[[Session], Any]) -> Any:
    with runtime.read_session() as session:
        return task(session)


def collect(runtime: Runtime) -> AdminDocument:
    """The whole document, straight from the database; each part in its own session."""
    settings = runtime.settings
    started = time.perf_counter()
    now = datetime.now(UTC)
    futures = {
        name: _pool().submit(_run, runtime, task)
        for name, task in section_tasks(settings, now).items()
    }
    try:
        parts = {name: future.result() for name, future in futures.items()}
    except Exception as exc:
        # A database that stopped answering is an outage (503), not a bug (500).
        outage = outages.as_unavailable(exc)
        if outage is not None:
            raise outage from exc
        raise InternalError(f"could not collect the admin document: {exc}") from exc
    workers, queue = parts["workers"], parts["queue"]
    agents, warnings = workforce.without_workers(parts["agents"], workers)
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
        maintenance=parts["maintenance"],
        warnings=warnings,
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
            process=workforce.process_stats() if settings.is_embedded else None,
        ),
        analytics=parts["analytics"],
        queue=queue,
        logs=parts["logs"],
    )


def build(runtime: Runtime, *, source: CacheSource) -> CachedDocument:
    """Collect and serialise: the one way a cached document comes to exist."""
    document = collect(runtime)
    telemetry.ssot_built(document.build_ms / 1000)
    body = encode(document)
    return CachedDocument(
        body=body,
        built_at=document.built_at.timestamp(),
        build_ms=document.build_ms,
        source=source,
    )
