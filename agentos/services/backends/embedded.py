"""In-process backends: a real single-node implementation, not a mock.

Cache and counters live in this process (DESIGN.md allows that); the bus goes through the
database so every process on one home sees every event (see `embedded_bus`).
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Engine

from agentos.errors import InvalidError
from agentos.services.backends.base import Backends, CacheStats
from agentos.services.backends.breaker import LocalBreakerStore
from agentos.services.backends.embedded_bus import EmbeddedBus
from agentos.services.backends.embedded_limiter import EmbeddedRateLimiter
from agentos.services.backends.idempotency import DatabaseIdempotencyStore
from agentos.settings import Settings

Clock = Callable[[], float]
V = TypeVar("V")
# Expired entries are dropped lazily on read; a sweep now and then frees keys nobody reads.
SWEEP_INTERVAL_S = 30.0


def _deadline(clock: Clock, ttl_s: float | None) -> float | None:
    if ttl_s is None:
        return None
    if ttl_s <= 0:
        raise InvalidError("ttl_s must be positive")
    return clock() + ttl_s


class _ExpiringStore(Generic[V]):
    """A dict whose entries may carry a monotonic deadline; callers hold `lock`."""

    def __init__(self, clock: Clock) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.entries: dict[str, tuple[V, float | None]] = {}
        self._next_sweep = clock() + SWEEP_INTERVAL_S

    def live(self, key: str) -> tuple[V, float | None] | None:
        entry = self.entries.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= self.clock():
            self.drop(key)
            return None
        return entry

    def drop(self, key: str) -> bool:
        return self.entries.pop(key, None) is not None

    def matching(self, pattern: str) -> list[str]:
        return [key for key in list(self.entries) if fnmatch.fnmatchcase(key, pattern)]

    def maybe_sweep(self) -> None:
        now = self.clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL_S
        for key, (_value, deadline) in list(self.entries.items()):
            if deadline is not None and deadline <= now:
                self.drop(key)


class _ByteStore(_ExpiringStore[bytes]):
    """Keeps a running total of key and value sizes for `stats().memory_bytes`."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.size = 0

    def put(self, key: str, value: bytes, deadline: float | None) -> None:
        self.drop(key)
        self.entries[key] = (value, deadline)
        self.size += len(key.encode()) + len(value)

    def drop(self, key: str) -> bool:
        entry = self.entries.pop(key, None)
        if entry is None:
            return False
        self.size -= len(key.encode()) + len(entry[0])
        return True


class EmbeddedCache:
    """Bytes with optional TTLs, fnmatch patterns (Redis-like globs), per-process stats."""

    name = "in-process"

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._store = _ByteStore(clock)
        self._hits = 0
        self._misses = 0

    def get(self, key: str) -> bytes | None:
        with self._store.lock:
            entry = self._store.live(key)
            if entry is None:
                self._misses += 1
                return None
            self._hits += 1
            return entry[0]

    def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        with self._store.lock:
            self._store.put(key, bytes(value), _deadline(self._store.clock, ttl_s))
            self._store.maybe_sweep()

    def set_if_absent(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        with self._store.lock:
            if self._store.live(key) is not None:
                return False
            self._store.put(key, bytes(value), _deadline(self._store.clock, ttl_s))
            return True

    def delete(self, *keys: str) -> int:
        with self._store.lock:
            return sum(1 for key in keys if self._store.live(key) and self._store.drop(key))

    def delete_pattern(self, pattern: str) -> int:
        with self._store.lock:
            self._store.maybe_sweep()
            keys = [key for key in self._store.matching(pattern) if self._store.live(key)]
            return sum(1 for key in keys if self._store.drop(key))

    def ttl(self, key: str) -> float | None:
        """Seconds left; None when the key is missing or never expires (as in Redis)."""
        with self._store.lock:
            entry = self._store.live(key)
            if entry is None or entry[1] is None:
                return None
            return max(0.0, entry[1] - self._store.clock())

    def stats(self) -> CacheStats:
        with self._store.lock:
            self._store.maybe_sweep()
            live = sum(1 for key in list(self._store.entries) if self._store.live(key))
            return CacheStats(
                hits=self._hits, misses=self._misses, keys=live, memory_bytes=self._store.size
            )

    def ping(self) -> None:
        """Always up: the cache is this process's memory."""


class EmbeddedCounters:
    """Atomic integers; a TTL starts when a counter is created (fixed-window semantics)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._store: _ExpiringStore[int] = _ExpiringStore(clock)

    def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        with self._store.lock:
            entry = self._store.live(key)
            value, deadline = entry if entry is not None else (0, None)
            if deadline is None and ttl_s is not None:
                deadline = _deadline(self._store.clock, ttl_s)
            self._store.entries[key] = (value + amount, deadline)
            self._store.maybe_sweep()
            return value + amount

    def get(self, key: str) -> int:
        with self._store.lock:
            entry = self._store.live(key)
            return entry[0] if entry is not None else 0

    def get_many(self, pattern: str) -> dict[str, int]:
        with self._store.lock:
            found = {key: self._store.live(key) for key in self._store.matching(pattern)}
            return {key: entry[0] for key, entry in found.items() if entry is not None}

    def reset(self, pattern: str) -> int:
        with self._store.lock:
            keys = [key for key in self._store.matching(pattern) if self._store.live(key)]
            return sum(1 for key in keys if self._store.drop(key))


def build_embedded_backends(settings: Settings, *, engine: Callable[[], Engine]) -> Backends:
    return Backends(
        kind="embedded",
        cache=EmbeddedCache(),
        bus=EmbeddedBus(settings, engine=engine),
        counters=EmbeddedCounters(),
        limiter=EmbeddedRateLimiter(),
        breakers=LocalBreakerStore(settings),
        idempotency=DatabaseIdempotencyStore(settings),
    )
