"""Concurrent first pauses do not collide on the flag's key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from agentos.db.models import RuntimeSetting, RuntimeSettingChange
from agentos.services import queue
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.settings import Settings


def test_concurrent_pauses_all_succeed(settings: Settings, runtime: Runtime) -> None:
    actor = Actor(name="operator-race", role="operator")

    def pause() -> bool:
        with runtime.session() as session:
            return queue.pause(session, actor=actor).paused

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: pause(), range(8)))
    assert results == [True] * 8
    with runtime.session() as session:
        assert queue.is_paused(session)
        rows = session.scalar(select(func.count()).select_from(RuntimeSetting))
        changes = session.scalar(select(func.count()).select_from(RuntimeSettingChange))
    assert rows == 1
    assert changes == 8
