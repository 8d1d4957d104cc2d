"""Liveness of every dependency, with latency per part, and the watch that records each
dependency going down or coming back as a system event."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from agentos import __version__
from agentos.db.models import RuntimeSetting
from agentos.schemas.health import HealthPart, HealthReport
from agentos.services import events, maintenance
from agentos.services.backends.base import Backends
from agentos.services.runtime import Runtime
from agentos.settings import Settings


def _probe(call: Callable[[], object], *, required: bool, backend: str) -> HealthPart:
    started = time.perf_counter()
    try:
        call()
    except Exception as exc:  # any failure means the part is down; say why, briefly
        return HealthPart(
            status="down",
            required=required,
            backend=backend,
            detail=str(exc)[:200] or type(exc).__name__,
        )
    latency = round((time.perf_counter() - started) * 1000, 3)
    return HealthPart(status="up", required=required, latency_ms=latency, backend=backend)


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


logger = logging.getLogger(__name__)
_probes = ThreadPoolExecutor(max_workers=4, thread_name_prefix="agentos-health")


def check(*, settings: Settings, engine: Engine, backends: Backends) -> HealthReport:
    """Probe every part at once, so the report costs the slowest probe, not their sum."""
    distributed = not settings.is_embedded
    calls: dict[str, tuple[Callable[[], object], bool, str]] = {
        "database": (lambda: _select_one(engine), True, engine.dialect.name),
        "cache": (backends.cache.ping, False, backends.cache.name),
        "bus": (backends.bus.ping, False, backends.bus.name),
    }
    broker_ping = backends.extras.get("broker_ping")
    if distributed and callable(broker_ping):
        calls["broker"] = (broker_ping, True, "redis")
    if distributed:
        # Down, HTTP rate limits fall back to per-process ones (degraded, not open).
        calls["ratelimit"] = (backends.limiter.ping, False, "redis")
    futures = {
        name: _probes.submit(_probe, call, required=required, backend=backend)
        for name, (call, required, backend) in calls.items()
    }
    parts = {name: future.result() for name, future in futures.items()}
    for name in ("broker", "ratelimit"):
        if name not in parts:
            parts[name] = HealthPart(
                status="embedded", required=False, backend="in-process", latency_ms=0.0
            )
    if any(part.required and part.status == "down" for part in parts.values()):
        status = "unhealthy"
    elif any(part.status == "down" for part in parts.values()):
        status = "degraded"
    else:
        status = "healthy"
    return HealthReport(
        status=status,
        version=__version__,
        deployment="distributed" if distributed else "embedded",
        parts=parts,
    )


class HealthMonitor:
    """Probes every part each `interval_s` in its own thread, so `/health` answers the
    newest report without leaving the event loop (a thread hop per probe was most of its
    latency under load). A report older than `max_age_s` (the thread stalled on a dead
    dependency, or stopped) is never served: the caller probes itself then."""

    def __init__(self, runtime: Runtime, *, interval_s: float = 1.0) -> None:
        self.runtime = runtime
        self.interval_s = interval_s
        self.max_age_s = interval_s * 3
        self._latest: tuple[float, HealthReport] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # No probe here: a dependency down at startup must not delay the server's start.
        self._thread = threading.Thread(target=self._run, name="agentos-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._latest = None

    def latest(self) -> HealthReport | None:
        """The newest report if it is recent enough, else None (no I/O)."""
        latest = self._latest
        if latest is None or time.monotonic() - latest[0] > self.max_age_s:
            return None
        return latest[1].model_copy()

    def probe(self) -> HealthReport:
        runtime = self.runtime
        report = check(settings=runtime.settings, engine=runtime.engine, backends=runtime.backends)
        # Read here too, so the route finds the flag fresh without I/O (it sets it itself).
        report.maintenance = maintenance.current(runtime)
        self._latest = (time.monotonic(), report)
        return report

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.probe()
            except Exception:  # a probe never raises; this keeps the thread alive if it did
                logger.exception("health probe failed")
            self._stop.wait(self.interval_s)


# Dependency watch ------------------------------------------------------------------------

WATCH_KEY = "health.dependencies"


class _Outages:
    """What this process saw go down while the database could not record it."""

    def __init__(self) -> None:
        self.database_down_since: datetime | None = None


def watch(runtime: Runtime) -> dict[str, str]:
    """Probe every dependency and record each up/down transition as a system event, so the
    dashboard's alerts show an outage without anyone calling /health.

    The last seen state of every part is kept in the `runtime_settings` table (one row, so
    one event per transition whichever process probes). A database outage cannot be written
    while it lasts: this process remembers when it began and records it once it is back.
    """
    report = check(settings=runtime.settings, engine=runtime.engine, backends=runtime.backends)
    seen: dict[str, str] = {name: part.status for name, part in report.parts.items()}
    memory = runtime.component(_Outages, _Outages)
    now = datetime.now(UTC)
    if seen.get("database") == "down":
        memory.database_down_since = memory.database_down_since or now
        return seen
    with runtime.session() as session:
        row = session.get(RuntimeSetting, WATCH_KEY, with_for_update=True)
        previous: dict[str, Any] = dict(row.value) if row is not None and row.value else {}
        if memory.database_down_since is not None:
            previous["database"] = {
                "status": "down",
                "since": memory.database_down_since.isoformat(),
            }
            memory.database_down_since = None
        current = {**previous}
        for name, status in seen.items():
            before = (previous.get(name) or {}).get("status")
            if status == before or status == "embedded":
                continue
            current[name] = {"status": status, "since": now.isoformat()}
            if before is None and status == "up":
                continue  # first sight of a healthy part: nothing to report
            _record_transition(session, name, status, report.parts[name], previous.get(name), now)
        if row is None:
            session.add(RuntimeSetting(key=WATCH_KEY, value=current))
        elif current != previous or row.value != current:
            row.value = current
    return seen


def _record_transition(
    session: Session,
    name: str,
    status: str,
    part: HealthPart,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    if status == "down":
        events.emit(
            session,
            severity="error" if part.required else "warning",
            source=f"health.{name}",
            kind="dependency_down",
            message=f"{name} is down: {part.detail or 'no answer'}",
            details={"dependency": name, "backend": part.backend, "detail": part.detail},
        )
        return
    since = (before or {}).get("since")
    lasted = ""
    if since:
        seconds = (now - datetime.fromisoformat(since)).total_seconds()
        lasted = f" after {seconds:.0f} s down (since {since[:19]}Z)"
    events.emit(
        session,
        severity="info",
        source=f"health.{name}",
        kind="dependency_up",
        message=f"{name} is back{lasted}",
        details={"dependency": name, "backend": part.backend, "down_since": since},
    )
