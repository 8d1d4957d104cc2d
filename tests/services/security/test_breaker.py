"""Circuit breakers: transitions, shared state on Redis, limited probes, the pipeline's use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from agentos.errors import NotFoundError, UnavailableError
from agentos.services.actions.views import dashboard
from agentos.services.backends import breaker
from agentos.services.backends.breaker import LocalBreakerStore, RedisBreakerStore
from agentos.services.backends.redis import connect
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.helpers import outcomes, prepare, run

FAST = {
    "breaker_failure_threshold": 3,
    "breaker_cooldown_s": 0.3,
    "breaker_half_open_max_calls": 2,
}


@pytest.fixture
def fast(settings: Settings, make_runtime: Callable[[Settings], Runtime]) -> Runtime:
    return make_runtime(settings.model_copy(update=FAST))


def _store(runtime: Runtime) -> LocalBreakerStore | RedisBreakerStore:
    """A breaker store of its own (on Redis: its own connection, as another process has)."""
    settings = runtime.settings
    if settings.is_embedded:
        return LocalBreakerStore(settings)
    return RedisBreakerStore(settings, connect(settings.redis_url_for("breaker")))


def test_closed_open_half_open_closed(fast: Runtime) -> None:
    store = _store(fast)
    for _ in range(2):
        assert store.acquire(("database",)) in ((0,), (1,))
        store.record("database", success=False)
    assert store.snapshot("database").state == "closed"
    store.record("database", success=False)
    assert store.snapshot("database").state == "open"
    denied = store.acquire(("database",))
    assert denied[0] == "database"
    assert 0 < float(denied[1]) <= 0.3
    time.sleep(0.35)
    assert store.acquire(("database",)) == (breaker.PROBE,)
    assert store.snapshot("database").state == "half_open"
    store.record("database", success=True)
    snapshot = store.snapshot("database")
    assert snapshot.state == "closed"
    assert snapshot.failures == 0


def test_failed_probe_opens_again_and_success_resets_the_count(fast: Runtime) -> None:
    store = _store(fast)
    store.record("cache", success=False)
    store.record("cache", success=True)
    store.record("cache", success=False)
    store.record("cache", success=False)
    assert store.snapshot("cache").state == "closed"  # consecutive failures only
    store.record("cache", success=False)
    time.sleep(0.35)
    assert store.acquire(("cache",)) == (breaker.PROBE,)
    store.record("cache", success=False)
    assert store.snapshot("cache").state == "open"


def test_only_the_configured_number_of_probes(fast: Runtime) -> None:
    stores = [_store(fast) for _ in range(1 if fast.settings.is_embedded else 3)]
    for _ in range(3):
        stores[0].record("broker", success=False)
    time.sleep(0.35)
    admitted = [s.acquire(("broker",)) for _ in range(4) for s in stores]
    assert sum(1 for item in admitted if item == (breaker.PROBE,)) == 2


@pytest.mark.parametrize("settings", ["distributed"], indirect=True)
def test_state_is_shared_between_instances_on_redis(fast: Runtime) -> None:
    first, second = _store(fast), _store(fast)
    for _ in range(3):
        first.record("storage", success=False)
    assert second.snapshot("storage").state == "open"
    assert second.acquire(("storage",))[0] == "storage"
    assert breaker.trip(fast.backends.breakers, "database").forced
    assert _store(fast).snapshot("database").state == "open"
    time.sleep(0.35)
    assert second.acquire(("database",))[0] == "database"  # a tripped breaker stays open
    assert breaker.reset(fast.backends.breakers, "database").state == "closed"


def test_pipeline_opens_on_dependency_failures_not_on_business_errors(
    fast: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(fast)
    for _ in range(5):
        with pytest.raises(NotFoundError):
            run(fast, "dashboard.alert.ack", {"event_id": "00000000-0000-0000-0000-000000000001"})
    assert fast.backends.breakers.snapshot("database").state == "closed"

    def broken(*_: Any, **__: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(dashboard.queue, "pause", broken)
    for _ in range(3):
        with pytest.raises(UnavailableError) as failed:  # an outage answers as one (503)
            run(fast, "queue.pause")
        assert failed.value.code == "DATABASE_UNAVAILABLE"
    with pytest.raises(UnavailableError) as open_:
        run(fast, "queue.pause", key="during-outage")
    assert open_.value.code == "CIRCUIT_OPEN"
    assert open_.value.details["breaker"] == "database"
    monkeypatch.undo()
    time.sleep(0.35)
    assert run(fast, "queue.pause", key="during-outage").replayed is False  # nothing was stored
    assert fast.backends.breakers.snapshot("database").state == "closed"
    assert outcomes(fast, "queue.pause") == ["failed"] * 3 + ["circuit_open", "success"]
