"""Helpers for job service tests: a session, actors, and jobs in a given state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from agentos.db import keyset
from agentos.services.context import Actor
from agentos.services.jobs import anchors, behind
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings

# The anchors' step in the tests (`small_steps`): a few pages of the 70 seeded jobs.
STEP = 7


@pytest.fixture
def session(settings: Settings, runtime: Runtime) -> Iterator[Session]:
    with runtime.session() as session:
        ensure_default_agents(session)
        yield session


@pytest.fixture
def operator() -> Actor:
    return Actor(name="op", role="operator", id=None)


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[keyset.Leading | None]]:
    """Anchors every STEP rows, retaken at once; what each anchored read answered."""

    monkeypatch.setattr(anchors, "STEP", STEP)
    monkeypatch.setattr(anchors, "SEARCH_STEP", STEP - 2)
    monkeypatch.setattr(anchors, "RETAKE_GAP_S", 0.0)
    monkeypatch.setattr(keyset, "DEFERRED_OFFSET", 3)
    answers: list[keyset.Leading | None] = []
    real = anchors.leading

    def spied(*args: object, **kwargs: object) -> keyset.Leading | None:
        answer = real(*args, **kwargs)  # type: ignore[arg-type]
        answers.append(answer)
        return answer

    monkeypatch.setattr(anchors, "leading", spied)
    yield answers
    wait_for(lambda: not behind.busy())  # no take left running against a closed runtime
