"""Backends chosen by configuration: Redis when `AGENTOS_REDIS_URL` is set, else embedded.

Every store that is Redis in the distributed deployment and in-process (or the SQLite
database) in the embedded one lives in this package: cache, bus, counters, rate limiter,
circuit-breaker state (`breaker`) and idempotency records (`idempotency`). The runtime
(`agentos.services.runtime`) builds one set per process with `build_backends`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from agentos.services.backends.base import Backends
from agentos.settings import Settings


def build_backends(settings: Settings, *, engine: Callable[[], Engine]) -> Backends:
    """`engine`: the runtime's database engine, asked for only when a backend needs it
    (the embedded bus and idempotency records live in the database)."""
    if settings.redis_url:
        from agentos.services.backends.redis import build_redis_backends

        return build_redis_backends(settings)
    from agentos.services.backends.embedded import build_embedded_backends

    return build_embedded_backends(settings, engine=engine)
