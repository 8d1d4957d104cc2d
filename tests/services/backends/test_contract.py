"""The contract of agentos.services.backends.base, run on both deployments.

Waits use a short TTL or window and then poll for the effect, so nothing here depends on
how fast the machine is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import text

from agentos.errors import InvalidError
from agentos.services.backends.base import Backends, BusEvent, RateAlgorithm, Subscription
from agentos.services.runtime import Runtime
from agentos.settings import Settings

T = TypeVar("T")
ALGORITHMS: tuple[RateAlgorithm, ...] = ("sliding_window", "token_bucket", "fixed_window")


@pytest.fixture
def backends(settings: Settings, runtime: Runtime) -> Backends:
    return runtime.backends


def eventually(probe: Callable[[], T], *, within_s: float = 10.0) -> T:
    """The first truthy result of `probe`, polled until `within_s` has passed."""
    deadline = time.monotonic() + within_s
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


def next_event(subscription: Subscription, within_s: float = 10.0) -> BusEvent | None:
    return subscription.get(timeout_s=within_s)


# --- cache ---------------------------------------------------------------------------


def test_cache_set_get_delete(backends: Backends) -> None:
    cache = backends.cache
    assert cache.get("a") is None
    cache.set("a", b"\x00bytes\xff")
    assert cache.get("a") == b"\x00bytes\xff"
    assert cache.ttl("a") is None
    cache.set("a", b"new")
    assert cache.get("a") == b"new"
    assert cache.delete("a", "missing") == 1
    assert cache.get("a") is None


def test_cache_ttl_expires(backends: Backends) -> None:
    cache = backends.cache
    cache.set("short", b"x", ttl_s=0.2)
    cache.set("long", b"y", ttl_s=60)
    remaining = cache.ttl("long")
    assert remaining is not None
    assert 0 < remaining <= 60
    assert eventually(lambda: cache.get("short") is None)
    assert cache.ttl("short") is None
    assert cache.get("long") == b"y"


def test_cache_set_if_absent(backends: Backends) -> None:
    cache = backends.cache
    assert cache.set_if_absent("lock", b"first", ttl_s=0.3) is True
    assert cache.set_if_absent("lock", b"second", ttl_s=0.3) is False
    assert cache.get("lock") == b"first"
    assert eventually(lambda: cache.set_if_absent("lock", b"third", ttl_s=30))
    assert cache.get("lock") == b"third"


def test_cache_delete_pattern_is_a_glob(backends: Backends) -> None:
    cache = backends.cache
    for key in ("jobs:1", "jobs:2", "jobs:22", "agents:1"):
        cache.set(key, b"v")
    assert cache.delete_pattern("jobs:?") == 2
    assert cache.get("jobs:22") == b"v"
    assert cache.delete_pattern("jobs:*") == 1
    assert cache.get("agents:1") == b"v"
    assert cache.delete_pattern("nothing:*") == 0


def test_cache_stats_count_hits_misses_and_keys(backends: Backends) -> None:
    cache = backends.cache
    before = cache.stats()
    cache.set("s1", b"12345")
    cache.set("s2", b"12345")
    backends.counters.incr("not-a-cache-key")
    cache.get("s1")
    cache.get("s1")
    cache.get("absent")
    stats = cache.stats()
    assert stats.hits - before.hits == 2
    assert stats.misses - before.misses == 1
    assert stats.keys == 2
    assert stats.memory_bytes is not None
    assert stats.memory_bytes > 0
    assert 0 < stats.hit_rate <= 1


def test_cache_refuses_non_positive_ttl(backends: Backends) -> None:
    with pytest.raises(InvalidError):
        backends.cache.set("k", b"v", ttl_s=0)


def test_cache_ping(backends: Backends) -> None:
    backends.cache.ping()
    assert backends.cache.name


# --- counters ------------------------------------------------------------------------


def test_counters_incr_get_many_reset(backends: Backends) -> None:
    counters = backends.counters
    assert counters.get("hits:a") == 0
    assert counters.incr("hits:a") == 1
    assert counters.incr("hits:a", 5) == 6
    assert counters.incr("hits:b", 2) == 2
    assert counters.incr("other") == 1
    assert counters.get_many("hits:*") == {"hits:a": 6, "hits:b": 2}
    assert counters.reset("hits:*") == 2
    assert counters.get_many("hits:*") == {}
    assert counters.get("other") == 1


def test_counters_ttl_starts_at_creation(backends: Backends) -> None:
    counters = backends.counters
    counters.incr("burst", ttl_s=0.3)
    counters.incr("burst", ttl_s=60)  # does not extend the first window
    assert counters.get("burst") == 2
    assert eventually(lambda: counters.get("burst") == 0)
    assert counters.incr("burst", ttl_s=60) == 1


def test_counters_are_not_cache_keys(backends: Backends) -> None:
    backends.counters.incr("shared")
    backends.cache.set("shared", b"cache")
    assert backends.cache.delete_pattern("*") == 1
    assert backends.counters.get("shared") == 1


def test_concurrent_increments_are_atomic(backends: Backends) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: backends.counters.incr("race"), range(400)))
    assert backends.counters.get("race") == 400


# --- bus -----------------------------------------------------------------------------


@pytest.fixture
def subscriptions() -> Iterator[list[Subscription]]:
    opened: list[Subscription] = []
    yield opened
    for subscription in opened:
        subscription.close()


def test_bus_delivers_to_every_subscriber(
    backends: Backends, subscriptions: list[Subscription]
) -> None:
    first = backends.bus.subscribe("news")
    second = backends.bus.subscribe("news", "other")
    subscriptions += [first, second]
    backends.bus.publish("news", {"n": 1, "text": "hello"})
    for subscription in (first, second):
        event = next_event(subscription)
        assert event is not None
        assert event.channel == "news"
        assert event.payload == {"n": 1, "text": "hello"}
        assert event.id
    backends.bus.publish("other", {"n": 2})
    event = next_event(second)
    assert event is not None
    assert event.payload == {"n": 2}
    assert first.get(timeout_s=0.3) is None


def test_bus_only_delivers_events_after_subscribe(
    backends: Backends, subscriptions: list[Subscription]
) -> None:
    early = backends.bus.subscribe("news")
    subscriptions.append(early)
    backends.bus.publish("news", {"n": "before"})
    late = backends.bus.subscribe("news")
    subscriptions.append(late)
    backends.bus.publish("news", {"n": "after"})
    received_early = [next_event(early), next_event(early)]
    assert [event.payload["n"] for event in received_early if event] == ["before", "after"]
    event = next_event(late)
    assert event is not None
    assert event.payload == {"n": "after"}
    assert late.get(timeout_s=0.5) is None


def test_bus_crosses_independent_backends(
    settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """Two Backends instances stand for two processes on one deployment."""
    sender, receiver = make_runtime(settings).backends, make_runtime(settings).backends
    try:
        subscription = receiver.bus.subscribe("jobs")
        sender.bus.publish("jobs", {"job": "42", "status": "queued"})
        event = next_event(subscription)
        assert event is not None
        assert (event.channel, event.payload) == ("jobs", {"job": "42", "status": "queued"})
        own = sender.bus.subscribe("jobs")
        receiver.bus.publish("jobs", {"from": "receiver"})
        for each in (own, subscription):
            received = next_event(each)
            assert received is not None
            assert received.payload == {"from": "receiver"}
        # Neither side sees an event twice (the poller skips its own rows).
        assert subscription.get(timeout_s=0.6) is None
        assert own.get(timeout_s=0.1) is None
    finally:
        sender.close()
        receiver.close()


def test_bus_publishes_a_batch_in_order_here_and_elsewhere(
    settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    sender, receiver = make_runtime(settings).backends, make_runtime(settings).backends
    try:
        local, remote = sender.bus.subscribe("jobs"), receiver.bus.subscribe("jobs")
        sender.bus.publish_many("jobs", [{"n": n} for n in range(5)])
        sender.bus.publish_many("jobs", [])
        for subscription in (local, remote):
            got = [next_event(subscription) for _ in range(5)]
            assert [event.payload for event in got if event is not None] == [
                {"n": n} for n in range(5)
            ]
            assert len({event.id for event in got if event is not None}) == 5
        assert remote.get(timeout_s=0.6) is None
    finally:
        sender.close()
        receiver.close()


def test_one_transaction_announces_its_changes_in_one_batch(
    settings: Settings, runtime: Runtime
) -> None:
    from agentos.services import events
    from agentos.services.runtime import backends_of

    with runtime.session() as session:
        bus = backends_of(session).bus
        subscription = bus.subscribe(events.CHANGES_CHANNEL)
        calls: list[int] = []
        original = bus.publish_many

        def counted(channel: str, payloads: list[dict[str, object]]) -> None:
            calls.append(len(payloads))
            original(channel, payloads)

        bus.publish_many = counted  # type: ignore[method-assign]
        events.announce(session, "first", n=1)
        events.announce(session, "second", n=2)
        assert subscription.get(timeout_s=0.1) is None  # nothing before the commit
    try:
        kinds = [next_event(subscription) for _ in range(2)]
        assert [event.payload["kind"] for event in kinds if event is not None] == [
            "first",
            "second",
        ]
        assert calls == [2]
    finally:
        bus.publish_many = original  # type: ignore[method-assign]
        subscription.close()


def test_a_rolled_back_transaction_announces_nothing(settings: Settings, runtime: Runtime) -> None:
    from agentos.services import events
    from agentos.services.runtime import backends_of

    with runtime.session() as session:
        subscription = backends_of(session).bus.subscribe(events.CHANGES_CHANNEL)

    def announce_then_fail() -> None:
        with runtime.session() as session:
            events.announce(session, "undone")
            raise RuntimeError("roll back")

    try:
        with pytest.raises(RuntimeError):
            announce_then_fail()
        with runtime.session() as session:
            session.execute(text("SELECT 1"))  # a transaction to roll back
            events.announce(session, "undone too")
            session.rollback()
            events.announce(session, "kept")
        event = next_event(subscription)
        assert event is not None
        assert event.payload["kind"] == "kept"
        assert subscription.get(timeout_s=0.3) is None
    finally:
        subscription.close()


def test_bus_payloads_are_plain_json(backends: Backends, subscriptions: list[Subscription]) -> None:
    import uuid

    subscription = backends.bus.subscribe("json")
    subscriptions.append(subscription)
    ident = uuid.uuid4()
    backends.bus.publish("json", {"id": ident, "nested": {"list": [1, 2.5, None]}})
    event = next_event(subscription)
    assert event is not None
    assert event.payload == {"id": str(ident), "nested": {"list": [1, 2.5, None]}}
    with pytest.raises(InvalidError):
        backends.bus.publish("", {"x": 1})


def test_closed_subscription_receives_nothing(backends: Backends) -> None:
    subscription = backends.bus.subscribe("news")
    subscription.close()
    backends.bus.publish("news", {"n": 1})
    assert subscription.get(timeout_s=0.2) is None


def test_bus_ping(backends: Backends) -> None:
    backends.bus.ping()
    assert backends.bus.name


# --- rate limiter --------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_limit_admitted_then_refused(backends: Backends, algorithm: RateAlgorithm) -> None:
    limiter = backends.limiter
    decisions = [limiter.hit("client", limit=5, window_s=60, algorithm=algorithm) for _ in range(5)]
    assert all(decision.allowed for decision in decisions)
    assert [decision.remaining for decision in decisions] == [4, 3, 2, 1, 0]
    assert all(decision.retry_after_s == 0 for decision in decisions)
    refused = limiter.hit("client", limit=5, window_s=60, algorithm=algorithm)
    assert refused.allowed is False
    assert refused.remaining == 0
    assert 0 < refused.retry_after_s <= 60
    assert 0 < refused.reset_s <= 60
    assert (refused.limit, refused.window_s, refused.algorithm) == (5, 60, algorithm)
    other = limiter.hit("another-client", limit=5, window_s=60, algorithm=algorithm)
    assert other.allowed


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_window_rolls_over(backends: Backends, algorithm: RateAlgorithm) -> None:
    limiter = backends.limiter
    for _ in range(3):
        assert limiter.hit("roll", limit=3, window_s=0.3, algorithm=algorithm).allowed
    refused = limiter.hit("roll", limit=3, window_s=0.3, algorithm=algorithm)
    assert not refused.allowed
    assert 0 < refused.retry_after_s <= 0.3
    assert eventually(
        lambda: limiter.hit("roll", limit=3, window_s=0.3, algorithm=algorithm).allowed
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_cost_counts_against_the_limit(backends: Backends, algorithm: RateAlgorithm) -> None:
    limiter = backends.limiter
    first = limiter.hit("bulk", limit=10, window_s=60, algorithm=algorithm, cost=7)
    assert first.allowed
    assert first.remaining == 3
    refused = limiter.hit("bulk", limit=10, window_s=60, algorithm=algorithm, cost=4)
    assert not refused.allowed
    assert refused.remaining == 3
    assert limiter.hit("bulk", limit=10, window_s=60, algorithm=algorithm, cost=3).allowed
    with pytest.raises(InvalidError):
        limiter.hit("bulk", limit=10, window_s=60, algorithm=algorithm, cost=11)


def test_limiter_reset_by_pattern(backends: Backends) -> None:
    limiter = backends.limiter
    for algorithm in ALGORITHMS:
        assert limiter.hit("user:1", limit=1, window_s=60, algorithm=algorithm).allowed
        assert not limiter.hit("user:1", limit=1, window_s=60, algorithm=algorithm).allowed
    assert limiter.hit("ip:1", limit=1, window_s=60).allowed
    assert limiter.reset("user:*") == 1
    for algorithm in ALGORITHMS:
        assert limiter.hit("user:1", limit=1, window_s=60, algorithm=algorithm).allowed
    assert not limiter.hit("ip:1", limit=1, window_s=60).allowed


def test_limiter_refuses_bad_arguments(backends: Backends) -> None:
    with pytest.raises(InvalidError):
        backends.limiter.hit("k", limit=0, window_s=60)
    with pytest.raises(InvalidError):
        backends.limiter.hit("k", limit=1, window_s=0)
    with pytest.raises(InvalidError):
        backends.limiter.hit("k", limit=1, window_s=1, algorithm="leaky")  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_concurrent_attempts_admit_exactly_the_limit(
    backends: Backends, algorithm: RateAlgorithm
) -> None:
    # A long window: the token bucket's refill over the run stays far below one token.
    def attempt(_: int) -> bool:
        return backends.limiter.hit("crowd", limit=100, window_s=3600, algorithm=algorithm).allowed

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, range(1000)))
    assert sum(results) == 100
