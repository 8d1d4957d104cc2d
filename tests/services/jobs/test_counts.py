"""Totals of filtered lists: counted once, answered from the cache, recounted behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from agentos.services.jobs import counts
from agentos.services.runtime import Runtime


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_an_old_total_is_answered_while_one_recount_runs_behind(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "COUNT_TTL_S", 0.0)  # every kept total is old at once
    monkeypatch.setattr(counts, "COUNT_KEEP_S", 60.0)
    rows = [3]
    calls: list[int] = []
    release = threading.Event()

    def count(reader: Session) -> int:
        assert reader.info  # a session of this runtime, the reader's or a recount's own
        calls.append(1)
        if len(calls) > 1:
            release.wait(10)  # the recount is slow; readers must not wait for it
        return rows[0]

    key = "test:count:stale"
    with runtime.read_session() as session:
        assert counts.cached(session, key, count) == (3, None)  # counted for this answer
        rows[0] = 5
        answers = [counts.cached(session, key, count) for _ in range(20)]
    assert {value for value, _ in answers} == {3}  # the kept total, with when it was taken
    assert all(taken is not None for _, taken in answers)
    _wait_for(lambda: len(calls) >= 2)  # the recount runs on a thread of its own
    assert len(calls) == 2  # twenty old answers, one recount
    release.set()
    with runtime.read_session() as session:
        _wait_for(lambda: counts.cached(session, key, count)[0] == 5)
        value, taken = counts.cached(session, key, count)
    assert value == 5
    assert taken is not None


def test_a_total_not_asked_for_a_while_is_counted_again_for_its_answer(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "COUNT_KEEP_S", 1.0)
    rows = [1]
    key = "test:count:expired"
    with runtime.read_session() as session:
        assert counts.cached(session, key, lambda _: rows[0]) == (1, None)
        rows[0] = 2
        time.sleep(1.2)  # past COUNT_KEEP_S: nothing kept, the reader counts
        assert counts.cached(session, key, lambda _: rows[0]) == (2, None)
