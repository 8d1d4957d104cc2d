"""Per-route request metrics: a pure ASGI middleware feeding the shared counters.

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

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentos import telemetry
from agentos.services.analytics import MINUTE_TTL_S, bucket_field, http_key, minute_field
from agentos.services.backends.base import Counters

FLUSH_INTERVAL_S = 1.0


class MetricsRecorder:
    def __init__(self, counters: Counters) -> None:
        self._counters = counters
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def record(self, method: str, route: str, status: int, elapsed_ms: float) -> None:
        telemetry.request(route, method, status, elapsed_ms / 1000)
        now = time.time()
        keys = (
            http_key(method, route, "count"),
            http_key(method, route, f"s{status // 100}xx"),
            http_key(method, route, bucket_field(elapsed_ms)),
            http_key(method, route, minute_field(now)),
        )
        with self._lock:
            self._pending.update(keys)

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


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, recorder: MetricsRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.recorder.record(scope["method"], _template(scope), status, elapsed_ms)
            if self.recorder.due():
                await anyio.to_thread.run_sync(self._flush_quietly)

    def _flush_quietly(self) -> None:
        try:
            self.recorder.flush()
        except Exception:  # metrics must never fail a request; the next flush retries
            return


def _template(scope: dict[str, Any] | Scope) -> str:
    """The route template (`/api/jobs/{job_id}`), so ids do not explode the key space."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(unmatched)"
