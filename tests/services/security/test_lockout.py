from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from agentos.db.models import Lockout, SystemEvent
from agentos.services.runtime import Runtime
from agentos.services.security import lockout, users
from agentos.settings import Settings


def _fail(runtime: Runtime, times: int, *, username: str, ip: str) -> list[bool]:
    results = []
    for _ in range(times):
        with runtime.session() as session:
            results.append(lockout.record_failure(session, username=username, ip=ip))
    return results


def _locked(runtime: Runtime, *, username: str, ip: str | None) -> bool:
    with runtime.session() as session:
        return lockout.is_locked(session, username=username, ip=ip)


def test_fifth_failure_locks_account_and_ip(settings: Settings, runtime: Runtime) -> None:
    assert _fail(runtime, 4, username="zoe", ip="192.0.2.1") == [False] * 4
    assert not _locked(runtime, username="zoe", ip="192.0.2.1")
    assert _fail(runtime, 1, username="zoe", ip="192.0.2.1") == [True]
    assert _locked(runtime, username="ZOE", ip="192.0.2.99")  # the account, from anywhere
    assert _locked(runtime, username="other", ip="192.0.2.1")  # the IP, for anyone
    assert not _locked(runtime, username="other", ip="192.0.2.99")
    with runtime.session() as session:
        events = session.scalars(
            select(SystemEvent).where(SystemEvent.kind == "login_lockout")
        ).all()
    assert len(events) == 1
    assert events[0].source == "security"
    assert events[0].details is not None
    assert sorted(events[0].details["locked"]) == ["ip", "user"]


def test_clear_ip_and_unlock_user_are_separate(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        user, _ = users.create(session, username="yan", role="user")
    _fail(runtime, 5, username="yan", ip="192.0.2.2")
    with runtime.session() as session:
        assert users.require(session, user.id).locked_until is not None
        assert lockout.clear_ip(session, ip="192.0.2.2")
    assert _locked(runtime, username="yan", ip="192.0.2.2")
    assert not _locked(runtime, username="other", ip="192.0.2.2")
    with runtime.session() as session:
        unlocked = users.unlock(session, user_id=user.id)
    assert unlocked.locked_until is None
    assert not _locked(runtime, username="yan", ip="192.0.2.2")


def test_failures_outside_the_window_start_over(settings: Settings, runtime: Runtime) -> None:
    _fail(runtime, 4, username="xia", ip="192.0.2.3")
    with runtime.session() as session:
        old = lockout.utcnow() - timedelta(seconds=settings.lockout_seconds + 1)
        session.execute(update(Lockout).values(window_started_at=old))
    assert _fail(runtime, 1, username="xia", ip="192.0.2.3") == [False]
    assert not _locked(runtime, username="xia", ip="192.0.2.3")


def test_expired_lock_lets_in_and_counts_afresh(settings: Settings, runtime: Runtime) -> None:
    _fail(runtime, 5, username="wu", ip="192.0.2.4")
    with runtime.session() as session:
        session.execute(
            update(Lockout).values(locked_until=lockout.utcnow() - timedelta(seconds=1))
        )
    assert not _locked(runtime, username="wu", ip="192.0.2.4")
    assert _fail(runtime, 1, username="wu", ip="192.0.2.4") == [False]


def test_configured_attempts(
    settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    strict = make_runtime(settings.model_copy(update={"lockout_attempts": 2}))
    assert _fail(strict, 2, username="vic", ip="192.0.2.5") == [False, True]
