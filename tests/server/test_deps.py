"""The request dependencies that need no I/O answer on the event loop, not a thread."""

from __future__ import annotations

import inspect
import time
import typing
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from agentos.server import deps
from agentos.server.app import create_app
from agentos.services import events, outbox
from agentos.services.runtime import Runtime
from tests.support.auth import auth_headers, create_user_and_token


def _dependency(alias: Any) -> Any:
    return typing.get_args(alias)[1].dependency


@pytest.mark.parametrize(
    "alias",
    [
        deps.SettingsDep,
        deps.RuntimeDep,
        deps.BackendsDep,
        deps.TraceIdDep,
        deps.ClientIpDep,
        deps.CachedActorDep,
    ],
)
def test_getters_run_on_the_event_loop(alias: Any) -> None:
    # FastAPI runs a plain `def` dependency on the thread pool: a hop per request.
    assert inspect.iscoroutinefunction(_dependency(alias))


def _spy_on_the_bus(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, slow_s: float = 0.0
) -> list[list[str]]:
    """The kinds of each batch the changes channel is sent, once it is sent (`slow_s`
    later: a Redis that takes its time)."""
    published: list[list[str]] = []
    bus = runtime.backends.bus
    original = bus.publish_many

    def publish_many(channel: str, payloads: list[dict[str, Any]]) -> None:
        time.sleep(slow_s)
        original(channel, payloads)
        published.append([payload["kind"] for payload in payloads])

    monkeypatch.setattr(bus, "publish_many", publish_many)
    return published


def test_a_unit_of_work_given_later_leaves_only_what_may_wait_there(runtime: Runtime) -> None:
    later: list[Callable[[], object]] = []
    ran: list[str] = []
    with deps.unit_of_work(runtime, later) as session:
        outbox.after_commit(session, lambda: ran.append("before the answer"))
        outbox.after_commit(session, lambda: ran.append("after the answer"), may_wait=True)
        session.execute(text("SELECT 1"))
    assert ran == ["before the answer"]
    assert later[0] == session.close  # the connection goes back first
    outbox.run_all(later)
    assert ran == ["before the answer", "after the answer"]


def test_a_failed_unit_of_work_leaves_nothing_of_its_own_in_later(runtime: Runtime) -> None:
    later: list[Callable[[], object]] = []

    def handler_fails() -> None:
        with deps.unit_of_work(runtime, later) as session:
            outbox.after_commit(session, lambda: None, may_wait=True)
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        handler_fails()
    assert later == []


def test_a_committed_announcement_waiting_in_later_survives_a_rollback_after_it(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process listeners hear of a commit at once; the bus gets its batch after the
    answer, even if the same session rolls back something else meanwhile."""
    published = _spy_on_the_bus(runtime, monkeypatch)
    heard: list[str] = []
    events.on_local_change(runtime.backends, lambda: heard.append("changed"))
    later: list[Callable[[], object]] = []
    with deps.unit_of_work(runtime, later) as session:
        events.announce(session, "first")
        session.commit()
        assert heard == ["changed"]
        session.execute(text("SELECT 1"))
        events.announce(session, "second")
        session.rollback()
    assert published == []
    outbox.run_all(later)
    assert published == [["first"]]


def test_an_action_is_complete_only_once_its_announcement_went_out(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP the answer is sent before the bus announcement; the response's background
    task waits for it, so a client that got its answer finds it published."""
    published = _spy_on_the_bus(runtime, monkeypatch, slow_s=0.2)
    token = create_user_and_token(runtime, role="admin")[1]
    with TestClient(create_app(runtime), client=("127.0.0.1", 50000)) as client:
        for _ in range(3):  # the first through the full route, then at the edge
            with runtime.session() as session:
                event_id = str(events.emit(session, severity="error", source="t", message="x").id)
            published.clear()
            response = client.post(
                "/api/admin/action",
                json={"action": "dashboard.alert.ack", "payload": {"event_id": event_id}},
                headers=auth_headers(token),
            )
            assert response.status_code == 200, response.text
            assert published == [["event.acknowledged"]]
