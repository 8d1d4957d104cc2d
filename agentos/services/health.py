"""Liveness of every dependency, with latency per part."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, text

from agentos import __version__
from agentos.schemas.health import HealthPart, HealthReport
from agentos.services.backends.base import Backends
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
