"""In-process rate limiter: the Redis scripts' three algorithms, under one lock.

Semantics match `redis.py` exactly: `retry_after_s` is how long until a request of the
same cost would pass (0 when allowed); `reset_s` is how long until the full limit is
available again.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from agentos.services.backends.base import LimiterBase, RateAlgorithm, RateDecision

SWEEP_INTERVAL_S = 60.0


class EmbeddedRateLimiter(LimiterBase):
    def ping(self) -> None:
        """In this process: always there."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Each state keeps its window so the sweep knows when it has fully recovered.
        self._logs: dict[str, tuple[deque[float], float]] = {}
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._windows: dict[str, tuple[float, float, int]] = {}
        self._next_sweep = clock() + SWEEP_INTERVAL_S

    def _decide(
        self,
        key: str,
        limit: int,
        window_s: float,
        algorithm: RateAlgorithm,
        cost: int,
        *,
        partial: bool,
    ) -> RateDecision:
        step = {"sliding_window": self._sliding, "token_bucket": self._bucket}.get(
            algorithm, self._fixed
        )
        with self._lock:
            now = self._clock()
            self._maybe_sweep(now)
            allowed, remaining, reset, retry, granted = step(
                key, now, limit, window_s, cost, partial
            )
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=remaining,
            reset_s=max(0.0, reset),
            retry_after_s=max(0.0, retry),
            window_s=window_s,
            algorithm=algorithm,
            granted=granted,
        )

    def _sliding(
        self, key: str, now: float, limit: int, window: float, cost: int, partial: bool
    ) -> tuple[bool, int, float, float, int]:
        """An exact log of admitted request times; an entry leaves after `window`."""
        log = self._logs.get(key, (deque[float](), window))[0]
        self._logs[key] = (log, window)
        while log and log[0] <= now - window:
            log.popleft()
        cost = _fit(cost, limit - len(log), partial)
        allowed = len(log) + cost <= limit
        retry = 0.0
        if allowed:
            log.extend([now] * cost)
        else:
            retry = log[len(log) + cost - limit - 1] + window - now
        reset = log[-1] + window - now if log else 0.0
        return allowed, limit - len(log), reset, retry, cost if allowed else 0

    def _bucket(
        self, key: str, now: float, limit: int, window: float, cost: int, partial: bool
    ) -> tuple[bool, int, float, float, int]:
        """`limit` tokens, refilled continuously at `limit / window` per second."""
        rate = limit / window
        tokens, stamp, _ = self._buckets.get(key, (float(limit), now, window))
        tokens = min(float(limit), tokens + max(0.0, now - stamp) * rate)
        cost = _fit(cost, math.floor(tokens), partial)
        allowed = tokens >= cost
        retry = 0.0
        if allowed:
            tokens -= cost
        else:
            retry = (cost - tokens) / rate
        self._buckets[key] = (tokens, now, window)
        granted = cost if allowed else 0
        return allowed, math.floor(tokens), (limit - tokens) / rate, retry, granted

    def _fixed(
        self, key: str, now: float, limit: int, window: float, cost: int, partial: bool
    ) -> tuple[bool, int, float, float, int]:
        """A window starts at the first hit and admits `limit` until it ends."""
        start, _, used = self._windows.get(key, (now, window, 0))
        if now >= start + window:
            start, used = now, 0
        cost = _fit(cost, limit - used, partial)
        allowed = used + cost <= limit
        if allowed:
            used += cost
        self._windows[key] = (start, window, used)
        reset = start + window - now
        return allowed, limit - used, reset, 0.0 if allowed else reset, cost if allowed else 0

    def reset(self, pattern: str) -> int:
        """Forget every limiter state whose key matches the glob; returns how many keys."""
        with self._lock:
            keys = _drop_matching(self._logs, pattern)
            keys |= _drop_matching(self._buckets, pattern)
            keys |= _drop_matching(self._windows, pattern)
            return len(keys)

    def _maybe_sweep(self, now: float) -> None:
        """Drop states that have fully recovered, so idle keys do not accumulate."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL_S
        for key, (log, log_window) in list(self._logs.items()):
            if not log or now - log[-1] >= log_window:
                del self._logs[key]
        for key, (_tokens, stamp, window) in list(self._buckets.items()):
            if now - stamp >= window:
                del self._buckets[key]
        for key, (start, window, _used) in list(self._windows.items()):
            if now >= start + window:
                del self._windows[key]


def _fit(cost: int, available: int, partial: bool) -> int:
    """A partial request shrinks to what is available (one, to time a refusal)."""
    return max(1, min(cost, available)) if partial else cost


def _drop_matching(states: dict[str, Any], pattern: str) -> set[str]:
    keys = {key for key in states if fnmatch.fnmatchcase(key, pattern)}
    for key in keys:
        del states[key]
    return keys
