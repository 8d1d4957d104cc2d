"""The request dependencies that need no I/O answer on the event loop, not a thread."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest

from agentos.server import deps


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
