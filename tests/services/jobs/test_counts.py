"""Totals of filtered lists: counted once, answered from the cache, recounted behind."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.services.jobs import counts
from agentos.services.runtime import Runtime
from tests.support.jobs import make_actor


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


@pytest.mark.parametrize("trust_s", [60.0, 0.0])
def test_a_job_count_is_recounted_only_once_a_job_write_changes_the_deltas(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, trust_s: float
) -> None:
    """While no job is written, the kept count is still exact: answered (as known exact now)
    with no recount, however old, up to COUNT_TRUST_S. A job write changes the stamp."""
    monkeypatch.setattr(counts, "COUNT_TTL_S", 0.0)
    monkeypatch.setattr(counts, "COUNT_KEEP_S", 60.0)
    monkeypatch.setattr(counts, "COUNT_TRUST_S", trust_s)
    calls: list[int] = []

    def count(reader: Session) -> int:
        calls.append(1)
        return reader.scalar(select(func.count()).select_from(Job)) or 0

    key = f"test:count:stamped:{trust_s}"
    with runtime.read_session() as session:
        assert counts.cached(session, key, count, stamped=True) == (0, None)
        answers = [counts.cached(session, key, count, stamped=True) for _ in range(5)]
    assert {value for value, _ in answers} == {0}
    if trust_s:
        time.sleep(0.2)  # time for a recount to start, if one were asked for
        assert len(calls) == 1
        assert all(taken is not None for _, taken in answers)
        assert answers[-1][1] > answers[0][1]  # known exact later each time
        with runtime.session() as session:
            owner = make_actor(session)
            job_id = uuid.uuid4()
            session.add(Job(id=job_id, title="new", status="queued", owner_id=owner.id))
        calls.clear()
        with runtime.read_session() as session:
            _wait_for(lambda: counts.cached(session, key, count, stamped=True)[0] == 1)
        time.sleep(0.2)
        calls.clear()
        with runtime.session() as session:  # a running job's heartbeat: no list total moves
            session.execute(
                update(Job).where(Job.id == job_id).values(progress=0.5, updated_at=utcnow())
            )
        with runtime.read_session() as session:
            assert counts.cached(session, key, count, stamped=True)[0] == 1
        time.sleep(0.2)
        assert not calls
        with runtime.session() as session:
            session.add(Job(title="newer", status="queued", owner_id=owner.id))
        with runtime.read_session() as session:
            _wait_for(lambda: counts.cached(session, key, count, stamped=True)[0] == 2)
            assert counts.cached(session, key, count, stamped=True)[0] == 2
        return
    _wait_for(lambda: len(calls) >= 2)
    with runtime.read_session() as session:
        _wait_for(lambda: counts.cached(session, key, count, stamped=True)[0] == 0)
