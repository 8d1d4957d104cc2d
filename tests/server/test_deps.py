"""The request dependencies: no thread hop for what needs no I/O, one to end a session."""

from __future__ import annotations

import inspect
import typing
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select

from agentos.db.models.system import SystemEvent
from agentos.server import deps
from agentos.services.runtime import Runtime
from agentos.services.security import authn


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


@pytest.mark.parametrize("alias", [deps.SessionDep, deps.ReadSessionDep])
def test_sessions_open_on_the_event_loop(alias: Any) -> None:
    assert inspect.isasyncgenfunction(_dependency(alias))


def _request(runtime: Runtime) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(runtime=runtime)))


def _events(runtime: Runtime) -> int:
    with runtime.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(SystemEvent)) or 0)


def _run(runtime: Runtime, body: Any, *, fail: bool = False) -> None:
    async def main() -> None:
        sessions = deps.get_session(_request(runtime))
        session = await sessions.__anext__()
        body(session)
        if fail:
            with pytest.raises(RuntimeError):
                await sessions.athrow(RuntimeError("the route failed"))
        else:
            with pytest.raises(StopAsyncIteration):
                await sessions.__anext__()
        assert not session.in_transaction()

    anyio.run(main)


def _write(session: Any) -> None:
    session.add(SystemEvent(severity="info", source="test", message="kept?"))
    session.flush()


def test_a_request_session_commits_on_success_and_rolls_back_on_error(
    runtime: Runtime,
) -> None:
    before = _events(runtime)
    _run(runtime, _write)
    assert _events(runtime) == before + 1
    _run(runtime, _write, fail=True)
    assert _events(runtime) == before + 1


def test_an_object_only_added_is_flushed_and_committed(runtime: Runtime) -> None:
    before = _events(runtime)
    _run(
        runtime, lambda session: session.add(SystemEvent(severity="info", source="t", message="m"))
    )
    assert _events(runtime) == before + 1


def test_a_request_that_must_remember_a_failure_commits_it(runtime: Runtime) -> None:
    def remembered(session: Any) -> None:
        _write(session)
        session.info[authn.KEEP_ON_ERROR] = True

    before = _events(runtime)
    _run(runtime, remembered, fail=True)
    assert _events(runtime) == before + 1


def test_a_session_no_statement_used_is_closed_without_a_thread(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_threads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a thread hop for a session that ran nothing")

    monkeypatch.setattr(deps, "run_in_threadpool", no_threads)
    _run(runtime, lambda session: None)
    _run(runtime, lambda session: None, fail=True)
