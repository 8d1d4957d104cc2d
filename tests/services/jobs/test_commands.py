"""Job commands: create, enqueue, cancel, retry, delete, set_priority, stage reports, access."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentos.db.models import Clip, Job, ProcessingStep
from agentos.errors import ConflictError, ForbiddenError, NotFoundError
from agentos.schemas.common import PageParams
from agentos.schemas.jobs import JobFilters, JobStatus, JobStatusUpdate
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.pipeline import progress
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.jobs import make_actor, make_job, run_stage


def _steps(session: Session, job_id: uuid.UUID) -> list[ProcessingStep]:
    stmt = select(ProcessingStep).where(ProcessingStep.job_id == job_id)
    return list(session.scalars(stmt.order_by(ProcessingStep.created_at)))


def test_create_queues_first_stage(session: Session) -> None:
    user = make_actor(session)
    job = jobs.create(session, actor=user, title=" video ", source_path=None, priority=5)
    assert (job.status, job.current_stage, job.attempts, job.owner_id) == (
        "queued",
        "ingest",
        1,
        user.id,
    )
    [step] = _steps(session, job.id)
    assert (step.agent, step.status, step.attempt, step.priority) == ("ingest", "queued", 1, 5)
    jobs.enqueue_stage(session, job_id=job.id, agent="ingest")  # redelivery: no duplicate
    assert len(_steps(session, job.id)) == 1


def test_full_pipeline_completes(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user, "completed")
    assert job.status == "completed"
    assert job.progress == 1.0
    assert job.finished_at is not None
    assert [s.status for s in _steps(session, job.id)] == ["completed"] * 6


def test_cancel_effects(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user, "processing", stages=2)
    cancelled = jobs.cancel(session, job_id=job.id, actor=user)
    assert cancelled.status == "cancelled"
    assert cancelled.cancel_requested
    assert cancelled.finished_at is not None
    statuses = {s.agent: s.status for s in _steps(session, job.id)}
    assert statuses == {"ingest": "completed", "probe": "completed", "scenes": "cancelled"}
    with pytest.raises(ConflictError) as error:
        jobs.cancel(session, job_id=job.id, actor=user)
    assert error.value.code == "INVALID_TRANSITION"


def test_retry_resumes_at_failed_stage(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user, "failed", stages=2)
    assert job.error == "boom"
    retried = jobs.retry(session, job_id=job.id, actor=user)
    assert (retried.status, retried.current_stage, retried.attempts) == ("queued", "scenes", 2)
    assert retried.error is None
    assert not retried.cancel_requested
    newest = _steps(session, job.id)[-1]
    assert (newest.agent, newest.attempt, newest.status) == ("scenes", 2, "queued")
    with pytest.raises(ConflictError):
        jobs.retry(session, job_id=job.id, actor=user)  # queued: nothing to retry


def test_retry_after_cancel(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user, "cancelled")
    retried = jobs.retry(session, job_id=job.id, actor=user)
    assert (retried.status, retried.current_stage, retried.attempts) == ("queued", "ingest", 2)


def test_delete_removes_rows_and_files(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        user = make_actor(session)
        job = make_job(session, user, "completed")
        job_dir = settings.clips_dir / str(job.id)
        job_dir.mkdir(parents=True)
        clip_file, thumb = job_dir / "0.mp4", job_dir / "0.jpg"
        clip_file.write_bytes(b"x")
        thumb.write_bytes(b"y")
        outside = settings.home_dir / "keep.txt"
        outside.write_text("keep")
        session.add(Clip(job_id=job.id, ordinal=0, start=0, end=1, duration=1,
                         path=str(clip_file), thumbnail_path=str(outside)))  # fmt: skip
        session.flush()
        result = jobs.delete(session, job_id=job.id, actor=user)
        assert (result.steps, result.clips) == (6, 1)
        assert str(clip_file) in result.files
        assert str(outside) not in result.files
        assert clip_file.exists()  # files go only after the commit
    assert not job_dir.exists()
    assert outside.exists()
    with runtime.session() as session:
        assert session.get(Job, job.id) is None
        count = select(func.count()).select_from(ProcessingStep)
        assert session.scalar(count.where(ProcessingStep.job_id == job.id)) == 0


def test_delete_refuses_active_job(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user, "queued")
    with pytest.raises(ConflictError) as error:
        jobs.delete(session, job_id=job.id, actor=user)
    assert error.value.code == "JOB_NOT_TERMINAL"


def test_set_priority_updates_queued_step(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user, "queued")
    assert jobs.set_priority(session, job_id=job.id, priority=50, actor=user).priority == 50
    assert _steps(session, job.id)[0].priority == 50
    done = make_job(session, user, "completed")
    with pytest.raises(ConflictError):
        jobs.set_priority(session, job_id=done.id, priority=1, actor=user)


def test_ownership_and_roles(session: Session) -> None:
    alice, bob = make_actor(session), make_actor(session)
    job = make_job(session, alice)
    with pytest.raises(NotFoundError):
        jobs.require(session, job_id=job.id, actor=bob)
    with pytest.raises(NotFoundError):
        jobs.cancel(session, job_id=job.id, actor=bob)
    readonly = Actor(name="ro", role="readonly")
    assert jobs.require(session, job_id=job.id, actor=readonly).id == job.id
    with pytest.raises(ForbiddenError):
        jobs.cancel(session, job_id=job.id, actor=readonly)
    page = jobs.find(session, actor=bob, filters=JobFilters(), page=PageParams())
    assert page.pagination.total == 0


def test_find_filters_and_pages(session: Session) -> None:
    user = make_actor(session)
    for index in range(5):
        make_job(session, user, "queued", title=f"video {index}")
    make_job(session, user, "failed", title="broken_one")
    staff = Actor(name="op", role="operator")
    filters = JobFilters(status=[JobStatus.queued], owner_id=user.id)
    page = jobs.find(session, actor=staff, filters=filters, page=PageParams(page=2, per_page=2))
    assert page.pagination.total == 5
    assert page.pagination.total_pages == 3
    assert [j.title for j in page.data] == ["video 2", "video 1"]  # newest first
    found = jobs.find(session, actor=user, filters=JobFilters(search="n_o"), page=PageParams())
    assert [j.title for j in found.data] == ["broken_one"]
    stats = jobs.summary_stats(session, actor=user)
    assert stats.by_status["queued"] == 5
    assert stats.by_status["failed"] == 1
    assert stats.success_rate == 0.0
    assert stats.active == 5
    assert [j.title for j in jobs.recent(session, actor=user, limit=2)] == ["broken_one", "video 4"]
    assert jobs.today(session, actor=user).stats.total == 6


def test_report_status_agent_and_operator(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user)
    agent = Actor(name="ext", role="user", id=user.id, scopes=frozenset({"agent"}))
    report = progress.report_stage
    started = report(session, job_id=job.id, actor=agent,
                     update=JobStatusUpdate(stage="ingest", state="started"))  # fmt: skip
    assert started.status == "processing"
    report(session, job_id=job.id, actor=agent,
           update=JobStatusUpdate(stage="ingest", state="progress", progress=0.5))  # fmt: skip
    done = report(session, job_id=job.id, actor=agent,
                  update=JobStatusUpdate(stage="ingest", state="completed"))  # fmt: skip
    assert (done.status, done.current_stage) == ("queued", "probe")
    with pytest.raises(ForbiddenError):
        report(session, job_id=job.id, actor=user,
               update=JobStatusUpdate(stage="probe", state="started"))  # fmt: skip
    operator = Actor(name="op", role="operator")
    force = progress.force_status
    failed = force(session, job_id=job.id, actor=operator,
                   update=JobStatusUpdate(status=JobStatus.failed, error="bad input"))  # fmt: skip
    assert (failed.status, failed.error) == ("failed", "bad input")
    with pytest.raises(ConflictError):
        force(session, job_id=job.id, actor=operator,
              update=JobStatusUpdate(status=JobStatus.completed))  # fmt: skip


def test_run_stage_failure_records_step_error(session: Session, tmp_path: Path) -> None:
    user = make_actor(session)
    job = make_job(session, user)
    run_stage(session, job.id, fail="corrupt")
    detail = jobs.get_detail(session, job_id=job.id, actor=user)
    assert detail.status == "failed"
    assert detail.steps[0].error == "corrupt"
