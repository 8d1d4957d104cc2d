"""What only the Redis backends have: the seed's database layout and fast failure."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from agentos.errors import UnavailableError
from agentos.services.backends.base import Backends
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.services import flush_redis_prefix


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_settings(redis_url: str) -> Iterator[Settings]:
    settings = Settings(redis_url=redis_url, redis_key_prefix=f"agentos-test-{uuid.uuid4().hex}:")
    yield settings
    flush_redis_prefix(settings)


@pytest.fixture
def dead(make_runtime: Callable[[Settings], Runtime]) -> Iterator[Backends]:
    settings = Settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    backends = make_runtime(settings).backends
    yield backends
    backends.close()


@pytest.mark.redis
def test_keys_carry_the_prefix_on_their_own_databases(
    redis_settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    backends = make_runtime(redis_settings).backends
    prefix = redis_settings.redis_key_prefix
    try:
        backends.cache.set("admin:dashboard:v4", b"{}")
        backends.counters.incr("logins")
        backends.limiter.hit("user:1", limit=5, window_s=60, algorithm="fixed_window")
        cache_db = redis.Redis.from_url(redis_settings.redis_url_for("cache"))
        limit_db = redis.Redis.from_url(redis_settings.redis_url_for("ratelimit"))
        assert cache_db.get(prefix + "admin:dashboard:v4") == b"{}"
        assert sorted(cache_db.scan_iter(match=prefix + "*")) == [
            f"{prefix}admin:dashboard:v4".encode(),
            f"{prefix}counters:logins".encode(),
        ]
        assert list(limit_db.scan_iter(match=prefix + "*")) == [
            f"{prefix}rl:fixed_window:user:1".encode()
        ]
        cache_db.close()
        limit_db.close()
        backends.extras["broker_ping"]()
    finally:
        backends.close()


@pytest.mark.redis
def test_a_prefix_with_glob_characters_is_matched_literally(
    redis_url: str, make_runtime: Callable[[Settings], Runtime]
) -> None:
    unique = uuid.uuid4().hex
    literal = Settings(redis_url=redis_url, redis_key_prefix=f"t-{unique}[a]:")
    lookalike = Settings(redis_url=redis_url, redis_key_prefix=f"t-{unique}a:")
    first, second = make_runtime(literal).backends, make_runtime(lookalike).backends
    try:
        first.cache.set("k", b"1")
        second.cache.set("k", b"2")
        assert first.cache.delete_pattern("*") == 1
        assert second.cache.get("k") == b"2"
    finally:
        second.cache.delete("k")
        first.close()
        second.close()


@pytest.mark.timeout(30)
def test_closed_port_fails_fast_with_unavailable(dead: Backends) -> None:
    checks = [
        (lambda: dead.cache.get("k"), "CACHE_UNAVAILABLE"),
        (lambda: dead.cache.stats(), "CACHE_UNAVAILABLE"),
        (lambda: dead.counters.incr("k", ttl_s=5), "CACHE_UNAVAILABLE"),
        (lambda: dead.bus.publish("c", {"a": 1}), "BUS_UNAVAILABLE"),
        (lambda: dead.bus.subscribe("c"), "BUS_UNAVAILABLE"),
        (lambda: dead.limiter.hit("k", limit=1, window_s=1), "RATELIMIT_UNAVAILABLE"),
        (lambda: dead.extras["broker_ping"](), "BROKER_UNAVAILABLE"),
    ]
    for call, code in checks:
        with pytest.raises(UnavailableError) as caught:
            call()
        assert caught.value.code == code
