"""Batch permits (`RateLimiter.acquire`) and the process-local allowance leases built on
them, on both deployments. Leases use a hand-driven clock, so nothing depends on speed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentos.services.backends.allowance import MAX_SHARE, Allowance
from agentos.services.backends.base import RateAlgorithm, RateDecision, RateLimiter
from agentos.services.runtime import Runtime
from agentos.settings import Settings

ALGORITHMS: tuple[RateAlgorithm, ...] = ("sliding_window", "token_bucket", "fixed_window")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingLimiter:
    """The real limiter, counting the shared decisions (round trips on Redis)."""

    def __init__(self, inner: RateLimiter) -> None:
        self.inner = inner
        self.acquires = 0

    def hit(self, key: str, **kwargs: Any) -> RateDecision:
        return self.inner.hit(key, **kwargs)

    def acquire(self, key: str, **kwargs: Any) -> RateDecision:
        self.acquires += 1
        return self.inner.acquire(key, **kwargs)

    def reset(self, pattern: str) -> int:
        return self.inner.reset(pattern)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_acquire_grants_what_fits(
    settings: Settings, runtime: Runtime, algorithm: RateAlgorithm
) -> None:
    limiter = runtime.backends.limiter
    assert limiter.hit("batch", limit=10, window_s=60, algorithm=algorithm, cost=7).granted == 7
    partial = limiter.acquire("batch", limit=10, window_s=60, want=5, algorithm=algorithm)
    assert (partial.allowed, partial.granted, partial.remaining) == (True, 3, 0)
    refused = limiter.acquire("batch", limit=10, window_s=60, want=5, algorithm=algorithm)
    assert (refused.allowed, refused.granted) == (False, 0)
    assert 0 < refused.retry_after_s <= 60
    # Asking for more than the limit is asking for all of it.
    whole = limiter.acquire("fresh", limit=4, window_s=60, want=50, algorithm=algorithm)
    assert (whole.granted, whole.remaining) == (4, 0)


def test_one_process_admits_exactly_the_limit_with_few_round_trips(
    settings: Settings, runtime: Runtime
) -> None:
    counting = CountingLimiter(runtime.backends.limiter)
    allowance = Allowance(counting, batching=True, clock=Clock())
    decisions = [allowance.hit("k", limit=1000, window_s=60) for _ in range(1001)]
    assert all(decision.allowed for decision in decisions[:1000])
    assert not decisions[1000].allowed
    assert [decision.remaining for decision in decisions[:3]] == [999, 998, 997]
    assert counting.acquires < 1000 / 10


def test_two_processes_never_exceed_the_shared_limit(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    if settings.is_embedded:
        pytest.skip("embedded limits are per process by design")
    other = make_runtime(settings).backends  # an independent set of connections: another process
    try:
        clock = Clock()
        one = Allowance(runtime.backends.limiter, clock=clock)
        two = Allowance(other.limiter, clock=clock)
        limit = 400
        admitted = sum(
            (one if index % 3 else two).hit("shared", limit=limit, window_s=60).allowed
            for index in range(2 * limit)
        )
    finally:
        other.close()
    # Permits leased by one process and not yet spent are the only shortfall.
    assert limit - 2 * (limit // MAX_SHARE) <= admitted <= limit


def test_small_limits_are_never_batched(settings: Settings, runtime: Runtime) -> None:
    counting = CountingLimiter(runtime.backends.limiter)
    allowance = Allowance(counting, batching=True, clock=Clock())
    codes = [allowance.hit("small", limit=4, window_s=10).allowed for _ in range(5)]
    assert codes == [True, True, True, True, False]
    assert counting.acquires == 5


def test_expired_lease_shrinks_to_what_was_used(settings: Settings, runtime: Runtime) -> None:
    clock = Clock()
    counting = CountingLimiter(runtime.backends.limiter)
    allowance = Allowance(counting, batching=True, clock=clock, lease_s=1.0)
    for _ in range(40):  # leases of 1, 2, 4, 8, 16, 32 (the cap is 1000 // 20)
        allowance.hit("slow", limit=1000, window_s=60)
    clock.now += 1.5  # the last lease (32 permits, 9 used) expired unused
    before = counting.acquires
    first = allowance.hit("slow", limit=1000, window_s=60)
    assert counting.acquires == before + 1
    # 40 spent + 23 leased and lost + 9 now leased (one spent): the shared window saw 72.
    assert first.remaining == 1000 - 72 + 8
