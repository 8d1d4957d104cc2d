"""Queue service: pause/resume persisted, clear (dry run vs real), retry_failed, figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import ProcessingStep, RuntimeSettingChange
from agentos.schemas.common import PageParams
from agentos.services import jobs, queue
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.jobs import make_actor, make_job

OPERATOR = Actor(name="op", role="operator")


@pytest.fixture
def session(settings: Settings, runtime: Runtime) -> Iterator[Session]:
    with runtime.session() as session:
        ensure_default_agents(session)
        yield session


def test_pause_resume_persisted(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        assert queue.pause(session, actor=OPERATOR).paused
    with runtime.session() as session:  # another unit of work sees it
        assert queue.is_paused(session)
        user = make_actor(session)
        assert make_job(session, user).status == "queued"  # pause stops dispatch, not queueing
        state = queue.resume(session, actor=OPERATOR)
        assert not state.paused
        assert state.changed_by == "op"
    with runtime.session() as session:
        assert not queue.is_paused(session)
        history = session.scalars(
            select(RuntimeSettingChange.new_value).where(RuntimeSettingChange.key == "queue.paused")
        ).all()
        assert sorted(history) == [False, True]


def test_clear_dry_run_then_real(session: Session) -> None:
    user = make_actor(session)
    waiting = [make_job(session, user).id for _ in range(3)]
    running = make_job(session, user, "processing").id
    at_probe = make_job(session, user, stages=1).id
    dry = queue.clear(session, actor=OPERATOR, dry_run=True)
    assert dry.dry_run
    assert set(dry.job_ids) == {*waiting, at_probe}
    assert jobs.require(session, job_id=waiting[0], actor=OPERATOR).status == "queued"
    only_probe = queue.clear(session, actor=OPERATOR, agent="probe")
    assert only_probe.job_ids == [at_probe]
    real = queue.clear(session, actor=OPERATOR)
    assert real.count == 3
    assert set(real.job_ids) == set(waiting)
    assert jobs.require(session, job_id=running, actor=OPERATOR).status == "processing"
    for job_id in waiting:
        assert jobs.require(session, job_id=job_id, actor=OPERATOR).status == "cancelled"
    statuses = session.scalars(
        select(ProcessingStep.status).where(ProcessingStep.job_id.in_(waiting))
    ).all()
    assert set(statuses) == {"cancelled"}


def test_retry_failed(session: Session) -> None:
    user = make_actor(session)
    failed = [make_job(session, user, "failed").id for _ in range(2)]
    make_job(session, user, "completed")
    assert queue.retry_failed(session, actor=OPERATOR, dry_run=True).count == 2
    assert (
        queue.retry_failed(session, actor=OPERATOR, since=utcnow() + timedelta(hours=1)).count == 0
    )
    result = queue.retry_failed(session, actor=OPERATOR)
    assert set(result.job_ids) == set(failed)
    for job_id in failed:
        job = jobs.require(session, job_id=job_id, actor=OPERATOR)
        assert (job.status, job.attempts) == ("queued", 2)


def test_status_details_stats(session: Session) -> None:
    user = make_actor(session)
    low = make_job(session, user, title="low")
    high = make_job(session, user, title="high")
    jobs.set_priority(session, job_id=high.id, priority=9, actor=user)
    make_job(session, user, "processing", title="busy")
    make_job(session, user, "completed")
    status = queue.status(session)
    ingest = next(a for a in status.agents if a.agent == "ingest")
    assert (ingest.queued, ingest.running, status.processing) == (2, 1, 1)
    assert status.oldest_wait_s is not None
    details = queue.details(session, actor=OPERATOR, page=PageParams())
    assert [w.title for w in details.data] == ["busy", "high", "low"]
    assert details.pagination.total == 3
    stats = queue.stats(session)
    assert (stats.jobs_completed, stats.steps_completed) == (1, 6)
    assert stats.throughput_per_hour == pytest.approx(1 / 24)
    assert stats.mean_processing_s is not None
    assert low.id in {w.job_id for w in details.data}
