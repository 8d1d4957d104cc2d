"""Redis backends on the seed's per-concern databases (DB0 cache and counters, DB2 limits).

Short socket timeouts and a single retry make a dead Redis fail in about a second instead
of hanging a request; every connection or timeout error becomes an `UnavailableError`.
Every key and channel starts with `settings.redis_key_prefix`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from importlib.resources import files
from typing import Any, cast

import orjson
import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from agentos.errors import InvalidError, UnavailableError
from agentos.services.backends.base import (
    Backends,
    BusEvent,
    CacheStats,
    LimiterBase,
    RateAlgorithm,
    RateDecision,
)
from agentos.services.backends.breaker import RedisBreakerStore
from agentos.services.backends.embedded_bus import plain_payload
from agentos.services.backends.idempotency import RedisIdempotencyStore
from agentos.services.backends.outage import glob_escape, guarded
from agentos.services.backends.redis_publisher import QuietPublisher
from agentos.settings import Settings

SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0
SCAN_COUNT = 1000
COUNTER_NAMESPACE = "counters:"
LIMIT_NAMESPACE = "rl:"


def connect(url: str) -> redis.Redis:
    """A pooled, thread-safe client that gives up fast on a dead server."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        # One quick retry survives a pooled connection the server closed; no more.
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        health_check_interval=30,
    )


def _milliseconds(ttl_s: float) -> int:
    if ttl_s <= 0:
        raise InvalidError("ttl_s must be positive")
    return max(1, round(ttl_s * 1000))


def _scan(client: redis.Redis, match: str) -> Iterator[bytes]:
    yield from client.scan_iter(match=match, count=SCAN_COUNT)


class RedisCache:
    """Cache keys are `prefix + key`; scans skip the counters' namespace sharing DB0."""

    name = "redis"

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._counters_prefix = (prefix + COUNTER_NAMESPACE).encode()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, key: str) -> bytes | None:
        with guarded("CACHE_UNAVAILABLE", "cache"):
            # decode_responses is off: replies are bytes.
            value = cast(bytes | None, self._client.get(self._prefix + key))
        with self._lock:
            if value is None:
                self._misses += 1
            else:
                self._hits += 1
        return value

    def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        px = None if ttl_s is None else _milliseconds(ttl_s)
        with guarded("CACHE_UNAVAILABLE", "cache"):
            self._client.set(self._prefix + key, value, px=px)

    def set_if_absent(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        px = _milliseconds(ttl_s)
        with guarded("CACHE_UNAVAILABLE", "cache"):
            return bool(self._client.set(self._prefix + key, value, px=px, nx=True))

    def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        with guarded("CACHE_UNAVAILABLE", "cache"):
            return int(self._client.unlink(*(self._prefix + key for key in keys)))

    def _own_keys(self, pattern: str) -> Iterator[bytes]:
        match = glob_escape(self._prefix) + pattern
        return (
            key for key in _scan(self._client, match) if not key.startswith(self._counters_prefix)
        )

    def delete_pattern(self, pattern: str) -> int:
        deleted = 0
        with guarded("CACHE_UNAVAILABLE", "cache"):
            batch: list[bytes] = []
            for key in self._own_keys(pattern):
                batch.append(key)
                if len(batch) >= SCAN_COUNT:
                    deleted += int(self._client.unlink(*batch))
                    batch.clear()
            if batch:
                deleted += int(self._client.unlink(*batch))
        return deleted

    def ttl(self, key: str) -> float | None:
        """Seconds left; None when the key is missing or never expires."""
        with guarded("CACHE_UNAVAILABLE", "cache"):
            pttl = int(self._client.pttl(self._prefix + key))
        return pttl / 1000 if pttl >= 0 else None

    def stats(self) -> CacheStats:
        with guarded("CACHE_UNAVAILABLE", "cache"):
            keys = sum(1 for _ in self._own_keys("*"))
            memory = self._client.info("memory").get("used_memory")
        with self._lock:
            hits, misses = self._hits, self._misses
        return CacheStats(
            hits=hits, misses=misses, keys=keys, memory_bytes=int(memory) if memory else None
        )

    def ping(self) -> None:
        with guarded("CACHE_UNAVAILABLE", "cache"):
            self._client.ping()

    def close(self) -> None:
        """Closes the DB0 pool the bus and counters share; Backends.close calls it."""
        self._client.close()


class RedisCounters:
    """INCRBY; a TTL is set when the counter is created (PEXPIRE NX), as in-process."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + COUNTER_NAMESPACE

    def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        name = self._prefix + key
        with guarded("CACHE_UNAVAILABLE", "counters"):
            if ttl_s is None:
                return int(self._client.incrby(name, amount))
            pipe = self._client.pipeline(transaction=True)
            pipe.incrby(name, amount)
            pipe.pexpire(name, _milliseconds(ttl_s), nx=True)
            value, _ = pipe.execute()
            return int(value)

    def get(self, key: str) -> int:
        with guarded("CACHE_UNAVAILABLE", "counters"):
            value = self._client.get(self._prefix + key)
        return int(value) if value is not None else 0

    def _names(self, pattern: str) -> list[bytes]:
        return list(_scan(self._client, glob_escape(self._prefix) + pattern))

    def get_many(self, pattern: str) -> dict[str, int]:
        with guarded("CACHE_UNAVAILABLE", "counters"):
            names = self._names(pattern)
            values = self._client.mget(names) if names else []
        cut = len(self._prefix.encode())
        return {
            name[cut:].decode(): int(value)
            for name, value in zip(names, values, strict=True)
            if value is not None
        }

    def reset(self, pattern: str) -> int:
        with guarded("CACHE_UNAVAILABLE", "counters"):
            names = self._names(pattern)
            return int(self._client.unlink(*names)) if names else 0


class RedisSubscription:
    def __init__(self, client: redis.Redis, prefix: str, channels: tuple[str, ...]) -> None:
        self._prefix = prefix
        self._pubsub = client.pubsub(ignore_subscribe_messages=False)
        with guarded("BUS_UNAVAILABLE", "bus"):
            self._pubsub.subscribe(*(prefix + channel for channel in channels))
            # Wait for the confirmations: an event published after subscribe() returns
            # must reach this subscriber.
            pending = len(set(channels))
            deadline = time.monotonic() + SOCKET_TIMEOUT_S
            while pending and time.monotonic() < deadline:
                message = self._pubsub.get_message(timeout=deadline - time.monotonic())
                if message is not None and message["type"] == "subscribe":
                    pending -= 1
        if pending:
            self._pubsub.close()
            raise UnavailableError("Redis did not confirm the subscription", code="BUS_UNAVAILABLE")

    def get(self, timeout_s: float) -> BusEvent | None:
        deadline = time.monotonic() + max(0.0, timeout_s)
        with guarded("BUS_UNAVAILABLE", "bus"):
            while True:
                remaining = deadline - time.monotonic()
                message = self._pubsub.get_message(timeout=max(0.0, remaining))
                if message is not None and message["type"] == "message":
                    return self._event(message)
                if remaining <= 0:
                    return None

    def _event(self, message: dict[str, Any]) -> BusEvent:
        channel = message["channel"].decode()[len(self._prefix) :]
        body = orjson.loads(message["data"])
        if isinstance(body, dict) and set(body) == {"id", "payload"}:
            return BusEvent(channel=channel, payload=body["payload"], id=str(body["id"]))
        return BusEvent(channel=channel, payload=body if isinstance(body, dict) else {"data": body})

    def close(self) -> None:
        with suppress(RedisConnectionError, RedisTimeoutError):
            self._pubsub.close()


class RedisBus:
    """Redis pub/sub on the cache connection; messages are `{"id", "payload"}` JSON."""

    name = "redis"

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._publisher = QuietPublisher(client)

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self.publish_many(channel, [payload])

    def publish_many(self, channel: str, payloads: list[dict[str, Any]]) -> None:
        """Every payload in order, in one write (redis_publisher.py: no reply awaited)."""
        if not channel:
            raise InvalidError("A bus channel name must not be empty")
        name = self._prefix + channel
        messages = [
            (name, orjson.dumps({"id": uuid.uuid4().hex, "payload": plain_payload(payload)}))
            for payload in payloads
        ]
        with guarded("BUS_UNAVAILABLE", "bus"):
            self._publisher.publish(messages)

    def subscribe(self, *channels: str) -> RedisSubscription:
        if not channels:
            raise InvalidError("Subscribe to at least one channel")
        return RedisSubscription(self._client, self._prefix, channels)

    def ping(self) -> None:
        with guarded("BUS_UNAVAILABLE", "bus"):
            self._client.ping()

    def close(self) -> None:
        self._publisher.close()


def _load_script(algorithm: str) -> str:
    return files("agentos.services.backends").joinpath(f"lua/{algorithm}.lua").read_text()


class RedisRateLimiter(LimiterBase):
    """One Lua script per algorithm, one EVALSHA per decision, the server's clock."""

    ALGORITHMS: tuple[RateAlgorithm, ...] = ("sliding_window", "token_bucket", "fixed_window")

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + LIMIT_NAMESPACE
        self._scripts = {
            algorithm: client.register_script(_load_script(algorithm))
            for algorithm in self.ALGORITHMS
        }

    def _keys(self, key: str, algorithm: str) -> list[str]:
        keys = [f"{self._prefix}{algorithm}:{key}"]
        if algorithm == "sliding_window":
            keys.append(f"{self._prefix}seq:{key}")
        return keys

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
        window_us = max(1, round(window_s * 1_000_000))
        with guarded("RATELIMIT_UNAVAILABLE", "rate limiter"):
            allowed, remaining, reset_us, retry_us, granted = self._scripts[algorithm](
                keys=self._keys(key, algorithm), args=[limit, window_us, cost, int(partial)]
            )
        return RateDecision(
            allowed=bool(allowed),
            limit=limit,
            remaining=max(0, int(remaining)),
            reset_s=max(0, int(reset_us)) / 1_000_000,
            retry_after_s=max(0, int(retry_us)) / 1_000_000,
            window_s=window_s,
            algorithm=algorithm,
            granted=int(granted),
        )

    def close(self) -> None:
        self._client.close()

    def ping(self) -> None:
        with guarded("RATELIMIT_UNAVAILABLE", "rate limiter"):
            self._client.ping()

    def reset(self, pattern: str) -> int:
        """Delete the limiter state of every key matching the glob, in all algorithms."""
        reset: set[bytes] = set()
        with guarded("RATELIMIT_UNAVAILABLE", "rate limiter"):
            for algorithm in self.ALGORITHMS:
                namespace = f"{self._prefix}{algorithm}:".encode()
                names = list(_scan(self._client, glob_escape(namespace.decode()) + pattern))
                if not names:
                    continue
                companions = [
                    self._prefix.encode() + b"seq:" + name[len(namespace) :] for name in names
                ]
                self._client.unlink(*names, *(companions if algorithm == "sliding_window" else []))
                reset.update(name[len(namespace) :] for name in names)
        return len(reset)


def _pinger(url: str) -> Callable[[], None]:
    client = connect(url)

    def ping() -> None:
        # A PING round trip through the pool proves the broker answers now; a dead socket
        # fails the call and the pool reconnects on the next probe.
        with guarded("BROKER_UNAVAILABLE", "broker"):
            client.ping()

    return ping


def build_redis_backends(settings: Settings) -> Backends:
    prefix = settings.redis_key_prefix
    cache_client = connect(settings.redis_url_for("cache"))
    limit_client = connect(settings.redis_url_for("ratelimit"))
    return Backends(
        kind="redis",
        cache=RedisCache(cache_client, prefix),
        bus=RedisBus(cache_client, prefix),
        counters=RedisCounters(cache_client, prefix),
        limiter=RedisRateLimiter(limit_client, prefix),
        breakers=RedisBreakerStore(settings, connect(settings.redis_url_for("breaker"))),
        idempotency=RedisIdempotencyStore(settings, connect(settings.redis_url_for("idempotency"))),
        extras={"broker_ping": _pinger(settings.redis_url_for("broker"))},
    )
