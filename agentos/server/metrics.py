"""Per-route request metrics, recorded by the edge (server/edge.py) for every request.

One recorder, two sinks: each request is observed in the Prometheus histogram of this
process (`agentos.telemetry`, for `GET /metrics`) and tallied in process memory, flushed to the counters backend (Redis when
configured, so every server process adds to the same figures) at most once a second, from
a worker thread, so the request path never waits on a counter round trip.
`agentos.services.analytics` reads them back.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from starlette.types import Scope

from agentos import telemetry
from agentos.services.analytics import MINUTE_TTL_S, bucket_field, http_key, minute_field
from agentos.services.backends.base import Counters

FLUSH_INTERVAL_S = 1.0
MAX_KEY_SETS = 4096


class MetricsRecorder:
    def __init__(self, counters: Counters) -> None:
        self._counters = counters
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._keys: dict[tuple[str, str, int], tuple[str, str, str]] = {}

    def record(self, method: str, route: str, status: int, elapsed_ms: float) -> None:
        telemetry.request(route, method, status, elapsed_ms / 1000)
        minute = minute_field(time.time())
        keys = self._keys.get((method, route, status))
        if keys is None:  # the fixed keys of a route, formatted once
            if len(self._keys) >= MAX_KEY_SETS:  # odd methods must not grow it forever
                self._keys.clear()
            prefix = http_key(method, route, "")
            keys = self._keys[(method, route, status)] = (
                prefix,
                f"{prefix}count",
                f"{prefix}s{status // 100}xx",
            )
        prefix, count, status_key = keys
        with self._lock:
            pending = self._pending
            pending[count] += 1
            pending[status_key] += 1
            pending[prefix + bucket_field(elapsed_ms)] += 1
            pending[prefix + minute] += 1

    def due(self) -> bool:
        return time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S and bool(self._pending)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._last_flush = time.monotonic()
        while pending:
            key, amount = next(iter(pending.items()))
            ttl = MINUTE_TTL_S if key.rsplit("|", 1)[-1].startswith("m") else None
            try:
                self._counters.incr(key, amount, ttl_s=ttl)
            except Exception:
                with self._lock:  # keep what was not written for the next flush
                    self._pending.update(pending)
                raise
            del pending[key]

    def flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # metrics must never fail a request; the next flush retries
            return


def route_template(scope: dict[str, Any] | Scope) -> str:
    """The route template (`/api/jobs/{job_id}`), so ids do not explode the key space."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(unmatched)"
