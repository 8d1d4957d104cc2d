"""The contracts every backend implements twice: on Redis and embedded (in-process/SQLite)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol, get_args

from agentos.errors import InvalidError
from agentos.services.backends.breaker import BreakerStore
from agentos.services.backends.idempotency import IdempotencyStore

RateAlgorithm = Literal["sliding_window", "token_bucket", "fixed_window"]
RATE_ALGORITHMS: tuple[str, ...] = get_args(RateAlgorithm)


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    keys: int
    memory_bytes: int | None

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class Cache(Protocol):
    """Bytes in, bytes out; TTLs are honoured by both implementations."""

    name: str

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None: ...
    def set_if_absent(self, key: str, value: bytes, *, ttl_s: float) -> bool: ...
    def delete(self, *keys: str) -> int: ...
    def delete_pattern(self, pattern: str) -> int: ...
    def ttl(self, key: str) -> float | None: ...
    def stats(self) -> CacheStats: ...
    def ping(self) -> None: ...


@dataclass(frozen=True)
class BusEvent:
    channel: str
    payload: dict[str, Any]
    id: str = ""


class Subscription(Protocol):
    def get(self, timeout_s: float) -> BusEvent | None: ...
    def close(self) -> None: ...


class Bus(Protocol):
    """Pub/sub: every subscriber in every process sees every event published after it joined."""

    name: str

    def publish(self, channel: str, payload: dict[str, Any]) -> None: ...
    def publish_many(self, channel: str, payloads: list[dict[str, Any]]) -> None:
        """Several payloads in order, at the cost of about one."""
        ...

    def subscribe(self, *channels: str) -> Subscription: ...
    def ping(self) -> None: ...


class Counters(Protocol):
    """Atomic integer counters with optional expiry."""

    def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int: ...
    def get(self, key: str) -> int: ...
    def get_many(self, pattern: str) -> dict[str, int]: ...
    def reset(self, pattern: str) -> int: ...


class RateDecision(NamedTuple):
    """One admission decision (a named tuple: made for every admitted request, and a
    frozen dataclass costs several times as much to create)."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float
    window_s: float
    algorithm: RateAlgorithm = "sliding_window"
    # Permits taken by this call: `cost` or 0 from `hit`, 0..want from `acquire`.
    granted: int = 0


class RateLimiter(Protocol):
    """One atomic decision per call (a Lua script on Redis, a lock in-process)."""

    def ping(self) -> None: ...

    def hit(
        self,
        key: str,
        *,
        limit: int,
        window_s: float,
        algorithm: RateAlgorithm = "sliding_window",
        cost: int = 1,
    ) -> RateDecision: ...
    def acquire(
        self,
        key: str,
        *,
        limit: int,
        window_s: float,
        want: int,
        algorithm: RateAlgorithm = "sliding_window",
    ) -> RateDecision:
        """Take up to `want` permits at once: as many as fit (`granted`), at least one or none.

        `allowed` says whether any was granted; `retry_after_s` is then how long until one
        permit would fit. The batch form of `hit` that allowance leases are built on.
        """
        ...

    def reset(self, pattern: str) -> int: ...


class LimiterBase(ABC):
    """`hit` and `acquire` validated alike; each backend supplies one atomic `_decide`."""

    def hit(
        self,
        key: str,
        *,
        limit: int,
        window_s: float,
        algorithm: RateAlgorithm = "sliding_window",
        cost: int = 1,
    ) -> RateDecision:
        check_rate_request(limit=limit, window_s=window_s, algorithm=algorithm, cost=cost)
        return self._decide(key, limit, window_s, algorithm, cost, partial=False)

    def acquire(
        self,
        key: str,
        *,
        limit: int,
        window_s: float,
        want: int,
        algorithm: RateAlgorithm = "sliding_window",
    ) -> RateDecision:
        want = min(want, limit)
        check_rate_request(limit=limit, window_s=window_s, algorithm=algorithm, cost=want)
        return self._decide(key, limit, window_s, algorithm, want, partial=True)

    @abstractmethod
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
        """One decision: all of `cost` or nothing, or (partial) as many permits as fit."""


def check_rate_request(*, limit: int, window_s: float, algorithm: str, cost: int) -> None:
    """The arguments both limiters refuse alike; a cost above the limit could never pass."""
    if algorithm not in RATE_ALGORITHMS:
        raise InvalidError(
            f"Unknown rate-limit algorithm {algorithm!r}; use one of {RATE_ALGORITHMS}"
        )
    if limit < 1 or cost < 1 or window_s <= 0:
        raise InvalidError("Rate limits need limit >= 1, cost >= 1 and window_s > 0")
    if cost > limit:
        raise InvalidError(f"A cost of {cost} can never fit a limit of {limit}")


@dataclass
class Backends:
    kind: Literal["redis", "embedded"]
    cache: Cache
    bus: Bus
    counters: Counters
    limiter: RateLimiter
    breakers: BreakerStore
    idempotency: IdempotencyStore
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for part in (self.bus, self.cache, self.counters, self.limiter, self.breakers):
            closer = getattr(part, "close", None)
            if callable(closer):
                closer()
