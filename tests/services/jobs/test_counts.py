"""Totals of filtered lists: counted once, answered from the cache, recounted behind."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.services.jobs import counts
from agentos.services.runtime import Runtime
from tests.services.jobs.conftest import wait_for
from tests.support.jobs import make_actor


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
    wait_for(lambda: len(calls) >= 2)  # the recount runs on a thread of its own
    assert len(calls) == 2  # twenty old answers, one recount
    release.set()
    with runtime.read_session() as session:
        wait_for(lambda: counts.cached(session, key, count)[0] == 5)
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
def test_a_job_count_is_kept_exact_while_jobs_are_written(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, trust_s: float
) -> None:
    """Up to COUNT_TRUST_S after it was counted a job count is not counted again: on
    PostgreSQL each answer is corrected for the jobs written since (`marks`: exact now); on
    SQLite it is answered as is (known exact now) while no job is written (the stamp), and
    recounted once one is. A running job's heartbeat moves no total."""
    monkeypatch.setattr(counts, "COUNT_TTL_S", 0.0)
    monkeypatch.setattr(counts, "COUNT_KEEP_S", 60.0)
    monkeypatch.setattr(counts, "COUNT_TRUST_S", trust_s)
    postgresql = runtime.engine.dialect.name == "postgresql"
    recounts: list[str] = []
    real = counts._count_and_keep

    def spied(*args: Any, **kwargs: Any) -> int:
        recounts.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(counts, "_count_and_keep", spied)

    def count(reader: Session) -> int:
        return reader.scalar(select(func.count()).select_from(Job)) or 0

    key, every_job = f"test:count:kept:{trust_s}", []

    def answer() -> tuple[int, Any]:
        with runtime.read_session() as session:
            return counts.cached(session, key, count, jobs_where=every_job)

    assert answer() == (0, None)
    answers = [answer() for _ in range(5)]
    assert {value for value, _ in answers} == {0}
    if not trust_s:
        wait_for(lambda: len(recounts) >= 2)
        wait_for(lambda: answer()[0] == 0)
        return
    time.sleep(0.2)  # time for a recount to start, if one were asked for
    assert len(recounts) == 1
    if postgresql:
        assert all(taken is None for _, taken in answers)
    else:
        assert all(taken is not None for _, taken in answers)
        assert answers[-1][1] > answers[0][1]  # known exact later each time
    with runtime.session() as session:
        owner = make_actor(session)
        job_id = uuid.uuid4()
        session.add(Job(id=job_id, title="new", status="queued", owner_id=owner.id))
    if postgresql:
        assert answer() == (1, None)
    wait_for(lambda: answer()[0] == 1)
    time.sleep(0.2)
    recounts.clear()
    with runtime.session() as session:  # a running job's heartbeat: no list total moves
        session.execute(
            update(Job).where(Job.id == job_id).values(progress=0.5, updated_at=utcnow())
        )
    assert answer()[0] == 1
    time.sleep(0.2)
    assert not recounts
    with runtime.session() as session:
        session.add(Job(title="newer", status="queued", owner_id=owner.id))
        session.execute(delete(Job).where(Job.id == job_id))
    if postgresql:
        assert answer() == (1, None)
        assert not recounts  # corrected, never counted again
    wait_for(lambda: answer()[0] == 1)
