"""Claiming queued steps, heartbeats and the reclaim of lost work, on both deployments."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from agentos.db.models import Job, ProcessingStep, SystemEvent, Worker
from agentos.db.session import session_scope
from agentos.services import agents, jobs, queue
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.pipeline import claims, workers
from agentos.settings import Settings


def _jobs(settings: Settings, count: int, *, priority: int = 0) -> list[uuid.UUID]:
    with session_scope(settings) as session:
        return [
            jobs.create(
                session, actor=SYSTEM_ACTOR, title=f"job {n}", source_path=None, priority=priority
            ).id
            for n in range(count)
        ]


def _claim(settings: Settings, worker: str = "w1", agents_: set[str] | None = None):
    with session_scope(settings) as session:
        return claims.claim_next(session, agents=agents_ or {"ingest"}, worker_id=worker)


def test_claim_follows_priority_then_age(settings: Settings) -> None:
    low = _jobs(settings, 2)
    high = _jobs(settings, 1, priority=10)
    order = [_claim(settings) for _ in range(3)]
    assert [c.job_id for c in order if c] == [high[0], low[0], low[1]]
    assert _claim(settings) is None
    with session_scope(settings) as session:
        job = session.get(Job, high[0])
        assert job is not None
        assert job.status == "processing"
        assert job.current_stage == "ingest"
        step = session.get(ProcessingStep, order[0].step_id)  # type: ignore[union-attr]
        assert step is not None
        assert step.status == "running"
        assert step.worker_id == "w1"


def test_nothing_is_claimed_while_paused_or_stopped(settings: Settings) -> None:
    _jobs(settings, 1)
    with session_scope(settings) as session:
        queue.pause(session, actor=SYSTEM_ACTOR)
    assert _claim(settings) is None
    with session_scope(settings) as session:
        queue.resume(session, actor=SYSTEM_ACTOR)
        agents.stop(session, agent="ingest", actor=SYSTEM_ACTOR)
    assert _claim(settings) is None
    with session_scope(settings) as session:
        agents.start(session, agent="ingest", actor=SYSTEM_ACTOR)
    assert _claim(settings) is not None


def test_concurrent_claimers_never_share_a_step(settings: Settings) -> None:
    created = set(_jobs(settings, 24))
    taken: list[uuid.UUID] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        try:
            while (claimed := _claim(settings, worker=name)) is not None:
                with lock:
                    taken.append(claimed.job_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(taken) == len(set(taken)) == len(created)
    assert set(taken) == created


def test_heartbeat_reports_cancellation_from_the_database(settings: Settings) -> None:
    (job_id,) = _jobs(settings, 1)
    claimed = _claim(settings)
    assert claimed is not None
    with session_scope(settings) as session:
        control = claims.heartbeat(session, step_id=claimed.step_id, worker_id="w1", progress=0.5)
        assert control.owned
        assert not control.should_stop
        assert claims.heartbeat(session, step_id=claimed.step_id, worker_id="other").owned is False
    with session_scope(settings) as session:
        jobs.cancel(session, job_id=job_id, actor=SYSTEM_ACTOR)
    with session_scope(settings) as session:
        control = claims.heartbeat(session, step_id=claimed.step_id, worker_id="w1")
        assert control.should_stop


def _age_step(settings: Settings, step_id: uuid.UUID, seconds: float) -> None:
    with session_scope(settings) as session:
        session.execute(
            update(ProcessingStep)
            .where(ProcessingStep.id == step_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


def _beat_worker(settings: Settings, name: str, age_s: float = 0.0) -> None:
    with session_scope(settings) as session:
        workers.worker_heartbeat(session, name=name, kind="test", agents=["ingest"], concurrency=1)
        session.execute(
            update(Worker)
            .where(Worker.name == name)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=age_s))
        )


def test_reclaim_requeues_steps_of_a_gone_worker(settings: Settings) -> None:
    _jobs(settings, 1)
    claimed = _claim(settings, worker="dead")
    assert claimed is not None
    _beat_worker(settings, "dead", age_s=settings.worker_lost_after_s + 5)
    with session_scope(settings) as session:
        report = workers.reclaim_stale(session)
    assert report.requeued == [claimed.step_id]
    assert "dead" in report.workers_offline
    again = _claim(settings, worker="alive")
    assert again is not None
    assert again.step_id == claimed.step_id
    assert again.attempt == claimed.attempt
    with session_scope(settings) as session:
        rows = session.scalars(
            select(ProcessingStep.id).where(ProcessingStep.job_id == claimed.job_id)
        ).all()
        assert rows == [claimed.step_id]  # the same row, not a second one


def test_reclaim_raises_one_stalled_event_for_a_silent_live_worker(settings: Settings) -> None:
    _jobs(settings, 1)
    claimed = _claim(settings, worker="slow")
    assert claimed is not None
    _beat_worker(settings, "slow")
    _age_step(settings, claimed.step_id, settings.stall_after_s + 5)
    for _ in range(2):
        with session_scope(settings) as session:
            report = workers.reclaim_stale(session)
        assert report.requeued == []
    with session_scope(settings) as session:
        stalled = session.scalars(
            select(SystemEvent).where(
                SystemEvent.kind == "stalled", SystemEvent.job_id == claimed.job_id
            )
        ).all()
        assert len(stalled) == 1
        step = session.get(ProcessingStep, claimed.step_id)
        assert step is not None
        assert step.status == "running"


def test_take_over_only_from_a_lost_worker(settings: Settings) -> None:
    _jobs(settings, 1)
    claimed = _claim(settings, worker="first")
    assert claimed is not None
    _beat_worker(settings, "first")
    with session_scope(settings) as session:
        assert claims.take_over(session, step_id=claimed.step_id, worker_id="second") is None
    _beat_worker(settings, "first", age_s=settings.worker_lost_after_s + 5)
    with session_scope(settings) as session:
        taken = claims.take_over(session, step_id=claimed.step_id, worker_id="second")
    assert taken is not None
    assert taken.worker_id == "second"
    with session_scope(settings) as session:
        assert claims.heartbeat(session, step_id=claimed.step_id, worker_id="first").owned is False
