"""Claiming queued steps, heartbeats and the reclaim of lost work, on both deployments."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from agentos.db.models import Job, ProcessingStep, SystemEvent, Worker
from agentos.services import agents, jobs, queue
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.pipeline import claims, workers
from agentos.services.runtime import Runtime
from agentos.settings import Settings


def _jobs(runtime: Runtime, count: int, *, priority: int = 0) -> list[uuid.UUID]:
    with runtime.session() as session:
        return [
            jobs.create(
                session, actor=SYSTEM_ACTOR, title=f"job {n}", source_path=None, priority=priority
            ).id
            for n in range(count)
        ]


def _claim(runtime: Runtime, worker: str = "w1", agents_: set[str] | None = None):
    with runtime.session() as session:
        return claims.claim_next(session, agents=agents_ or {"ingest"}, worker_id=worker)


def test_claim_follows_priority_then_age(settings: Settings, runtime: Runtime) -> None:
    low = _jobs(runtime, 2)
    high = _jobs(runtime, 1, priority=10)
    order = [_claim(runtime) for _ in range(3)]
    assert [c.job_id for c in order if c] == [high[0], low[0], low[1]]
    assert _claim(runtime) is None
    with runtime.session() as session:
        job = session.get(Job, high[0])
        assert job is not None
        assert job.status == "processing"
        assert job.current_stage == "ingest"
        step = session.get(ProcessingStep, order[0].step_id)  # type: ignore[union-attr]
        assert step is not None
        assert step.status == "running"
        assert step.worker_id == "w1"


def test_nothing_is_claimed_while_paused_or_stopped(settings: Settings, runtime: Runtime) -> None:
    _jobs(runtime, 1)
    with runtime.session() as session:
        queue.pause(session, actor=SYSTEM_ACTOR)
    assert _claim(runtime) is None
    with runtime.session() as session:
        queue.resume(session, actor=SYSTEM_ACTOR)
        agents.stop(session, agent="ingest", actor=SYSTEM_ACTOR)
    assert _claim(runtime) is None
    with runtime.session() as session:
        agents.start(session, agent="ingest", actor=SYSTEM_ACTOR)
    assert _claim(runtime) is not None


def test_concurrent_claimers_never_share_a_step(settings: Settings, runtime: Runtime) -> None:
    created = set(_jobs(runtime, 24))
    taken: list[uuid.UUID] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        try:
            while (claimed := _claim(runtime, worker=name)) is not None:
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


def test_heartbeat_reports_cancellation_from_the_database(
    settings: Settings, runtime: Runtime
) -> None:
    (job_id,) = _jobs(runtime, 1)
    claimed = _claim(runtime)
    assert claimed is not None
    with runtime.session() as session:
        control = claims.heartbeat(session, step_id=claimed.step_id, worker_id="w1", progress=0.5)
        assert control.owned
        assert not control.should_stop
        assert claims.heartbeat(session, step_id=claimed.step_id, worker_id="other").owned is False
    with runtime.session() as session:
        jobs.cancel(session, job_id=job_id, actor=SYSTEM_ACTOR)
    with runtime.session() as session:
        control = claims.heartbeat(session, step_id=claimed.step_id, worker_id="w1")
        assert control.should_stop


def _age_step(runtime: Runtime, step_id: uuid.UUID, seconds: float) -> None:
    with runtime.session() as session:
        session.execute(
            update(ProcessingStep)
            .where(ProcessingStep.id == step_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


def _beat_worker(runtime: Runtime, name: str, age_s: float = 0.0) -> None:
    with runtime.session() as session:
        workers.worker_heartbeat(session, name=name, kind="test", agents=["ingest"], concurrency=1)
        session.execute(
            update(Worker)
            .where(Worker.name == name)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=age_s))
        )


def test_reclaim_requeues_steps_of_a_gone_worker(settings: Settings, runtime: Runtime) -> None:
    _jobs(runtime, 1)
    claimed = _claim(runtime, worker="dead")
    assert claimed is not None
    _beat_worker(runtime, "dead", age_s=settings.worker_lost_after_s + 5)
    with runtime.session() as session:
        report = workers.reclaim_stale(session)
    assert report.requeued == [claimed.step_id]
    assert "dead" in report.workers_offline
    again = _claim(runtime, worker="alive")
    assert again is not None
    assert again.step_id == claimed.step_id
    assert again.attempt == claimed.attempt
    with runtime.session() as session:
        rows = session.scalars(
            select(ProcessingStep.id).where(ProcessingStep.job_id == claimed.job_id)
        ).all()
        assert rows == [claimed.step_id]  # the same row, not a second one


def test_reclaim_raises_one_stalled_event_for_a_silent_live_worker(
    settings: Settings, runtime: Runtime
) -> None:
    _jobs(runtime, 1)
    claimed = _claim(runtime, worker="slow")
    assert claimed is not None
    _beat_worker(runtime, "slow")
    _age_step(runtime, claimed.step_id, settings.stall_after_s + 5)
    for _ in range(2):
        with runtime.session() as session:
            report = workers.reclaim_stale(session)
        assert report.requeued == []
    with runtime.session() as session:
        stalled = session.scalars(
            select(SystemEvent).where(
                SystemEvent.kind == "stalled", SystemEvent.job_id == claimed.job_id
            )
        ).all()
        assert len(stalled) == 1
        step = session.get(ProcessingStep, claimed.step_id)
        assert step is not None
        assert step.status == "running"


def test_take_over_only_from_a_lost_worker(settings: Settings, runtime: Runtime) -> None:
    _jobs(runtime, 1)
    claimed = _claim(runtime, worker="first")
    assert claimed is not None
    _beat_worker(runtime, "first")
    with runtime.session() as session:
        assert claims.take_over(session, step_id=claimed.step_id, worker_id="second") is None
    _beat_worker(runtime, "first", age_s=settings.worker_lost_after_s + 5)
    with runtime.session() as session:
        taken = claims.take_over(session, step_id=claimed.step_id, worker_id="second")
    assert taken is not None
    assert taken.worker_id == "second"
    with runtime.session() as session:
        assert claims.heartbeat(session, step_id=claimed.step_id, worker_id="first").owned is False
