"""Breakers, rate limits, idempotency, lockouts and the cache, by hand (both deployments)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from agentos.db.models import IdempotencyRecord
from agentos.errors import RateLimitedError, UnavailableError
from agentos.services.runtime import Runtime
from agentos.services.security import lockout
from agentos.services.system import controls
from agentos.settings import Settings
from tests.services.actions.helpers import actor, prepare, run
from tests.services.actions.servers import serve
from tests.support.auth import auth_headers, create_user_and_token


def _states(runtime: Runtime) -> dict[str, tuple[str, bool]]:
    return {item.name: (item.state, item.forced) for item in controls.breakers(runtime)}


def test_trip_refuses_what_depends_on_it_and_reset_lets_it_through(runtime: Runtime) -> None:
    prepare(runtime)
    with pytest.raises(Exception) as needs_confirm:
        run(runtime, "system.circuit.trip", {"name": "broker"})
    assert getattr(needs_confirm.value, "code", None) == "CONFIRMATION_REQUIRED"
    tripped = run(runtime, "system.circuit.trip", {"name": "broker", "confirm": True}).result
    assert (tripped["state"], tripped["forced"]) == ("open", True)
    listed = run(runtime, "system.circuit.list").result["breakers"]
    assert {item["name"]: item["state"] for item in listed}["broker"] == "open"
    with pytest.raises(UnavailableError) as refused:
        run(runtime, "queue.resume")  # guarded by database and broker
    assert refused.value.code == "CIRCUIT_OPEN"

    reset = run(runtime, "system.circuit.reset", {"name": "broker"}).result
    assert reset["state"] == "closed"
    run(runtime, "queue.resume")


def test_a_tripped_breaker_binds_a_process_started_later(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    prepare(runtime)
    run(runtime, "system.circuit.trip", {"name": "storage", "confirm": True})
    later = make_runtime(settings)
    controls.apply_forced_breakers(later)
    assert _states(later)["storage"] == ("open", True)
    run(runtime, "system.circuit.reset", {"name": "storage"})
    fresh = make_runtime(settings)
    controls.apply_forced_breakers(fresh)
    assert _states(fresh)["storage"][0] == "closed"


def test_a_breaker_change_announced_by_one_process_reaches_another(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    other = make_runtime(settings)
    controls.handle_change(
        other, {"kind": controls.BREAKER_FORCED, "name": "cache", "state": "open"}
    )
    assert _states(other)["cache"] == ("open", True)
    controls.handle_change(
        other, {"kind": controls.BREAKER_FORCED, "name": "cache", "state": "closed"}
    )
    assert _states(other)["cache"][0] == "closed"


@pytest.mark.slow
def test_trip_from_the_command_line_process_stops_the_server(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    """The CLI's process trips the broker breaker; the server process refuses
    queue.resume (it needs the broker) from then on."""
    prepare(runtime)
    headers = auth_headers(create_user_and_token(runtime, role="admin")[1])
    body = {"action": "queue.resume", "payload": {}}
    with serve(settings, tmp_path / "server.log") as url:
        assert httpx.post(f"{url}/api/admin/action", json=body, headers=headers).status_code == 200
        run(runtime, "system.circuit.trip", {"name": "broker", "confirm": True})
        status = 200
        for _ in range(40):
            status = httpx.post(f"{url}/api/admin/action", json=body, headers=headers).status_code
            if status == 503:
                break
            time.sleep(0.1)
        assert status == 503
        run(runtime, "system.circuit.reset", {"name": "broker"})


def test_ratelimit_reset_lets_an_exhausted_action_run_again(runtime: Runtime) -> None:
    prepare(runtime)
    for _ in range(5):  # critical: 5 per minute
        run(runtime, "system.cache.stats")
    with pytest.raises(RateLimitedError):
        run(runtime, "system.cache.stats")
    cleared = run(runtime, "system.ratelimit.reset", {"action": "system.cache.stats"}).result
    assert cleared["pattern"] == "action:*:system.cache.stats"
    assert cleared["cleared"] >= 1
    run(runtime, "system.cache.stats")


def test_idempotency_purge_forgets_stored_answers(runtime: Runtime) -> None:
    prepare(runtime)
    first = run(runtime, "queue.pause", key="pause-once")
    assert run(runtime, "queue.pause", key="pause-once").replayed is True
    kept = run(runtime, "system.idempotency.purge", {"older_than_s": 3600}).result
    assert kept["purged"] == 0
    purged = run(runtime, "system.idempotency.purge").result
    assert purged["purged"] >= 1
    again = run(runtime, "queue.pause", key="pause-once")
    assert again.replayed is False
    assert again.audit_seq != first.audit_seq
    if runtime.settings.is_embedded:
        with runtime.session() as session:
            rows = session.scalar(select(func.count()).select_from(IdempotencyRecord))
        assert rows == 1  # only the new answer


def test_lockout_clear_lets_a_locked_ip_in(runtime: Runtime) -> None:
    with runtime.session() as session:
        for _ in range(runtime.settings.lockout_attempts):
            lockout.record_failure(session, username="mallory", ip="203.0.113.7")
    with runtime.session() as session:
        assert lockout.is_locked(session, username="someone-else", ip="203.0.113.7")
    result = run(runtime, "system.lockout.clear", {"ip": "203.0.113.7"}).result
    assert result == {"ip": "203.0.113.7", "cleared": True}
    with runtime.session() as session:
        assert not lockout.is_locked(session, username="someone-else", ip="203.0.113.7")
    with pytest.raises(Exception) as invalid:
        run(runtime, "system.lockout.clear", {"ip": "not-an-ip"})
    assert getattr(invalid.value, "code", None) == "VALIDATION_ERROR"


def test_cache_clear_defaults_to_the_ssot_key_and_stats_count_keys(runtime: Runtime) -> None:
    cache, key = runtime.backends.cache, runtime.settings.ssot_cache_key
    cache.set(key, b"document")
    cache.set("other:1", b"x")
    cache.set("other:2", b"y")
    stats = run(runtime, "system.cache.stats").result
    assert stats["keys"] >= 3
    assert stats["shared"] is (not runtime.settings.is_embedded)

    cleared = run(runtime, "system.cache.clear").result
    assert cleared == {"pattern": key, "deleted": 1}
    assert cache.get(key) is None
    assert cache.get("other:1") == b"x"
    assert run(runtime, "system.cache.clear", {"pattern": "other:*"}).result["deleted"] == 2
    assert cache.get("other:2") is None


def test_changes_are_applied_by_every_embedded_process(
    embedded_settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """Embedded limiter windows and cache live in each process: the announcement of a
    reset or a clear is applied where it arrives."""
    server = make_runtime(embedded_settings)
    server.backends.cache.set(embedded_settings.ssot_cache_key, b"doc")
    for _ in range(3):
        server.backends.limiter.hit("action:user:x:system.info", limit=3, window_s=60)
    assert not server.backends.limiter.hit(
        "action:user:x:system.info", limit=3, window_s=60
    ).allowed
    controls.handle_change(server, {"kind": controls.LIMITS_RESET, "pattern": "action:*"})
    controls.handle_change(
        server, {"kind": controls.CACHE_CLEARED, "pattern": embedded_settings.ssot_cache_key}
    )
    assert server.backends.limiter.hit("action:user:x:system.info", limit=3, window_s=60).allowed
    assert server.backends.cache.get(embedded_settings.ssot_cache_key) is None


def test_only_admins_run_system_writes(runtime: Runtime) -> None:
    with pytest.raises(Exception) as denied:
        run(runtime, "system.backup", who=actor("operator"))
    assert getattr(denied.value, "code", None) == "PERMISSION_DENIED"
    assert run(runtime, "system.circuit.list", who=actor("operator")).result["breakers"]
