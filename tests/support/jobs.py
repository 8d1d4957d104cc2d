"""Jobs for tests, driven into a state through the real services (no status poking)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from agentos.db.models import Job
from agentos.schemas.jobs import JobRead
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import progress
from agentos.services.security import users


def make_actor(session: Session, role: str = "user", name: str | None = None) -> Actor:
    user, _ = users.create(
        session, username=name or f"{role}-{uuid.uuid4().hex[:8]}", role=role, password="x" * 12
    )
    return Actor(name=user.username, role=role, id=user.id)


def run_stage(session: Session, job_id: uuid.UUID, *, fail: str | None = None) -> None:
    """Run the job's current stage to completion (or failure) as a runner would."""
    job = session.get(Job, job_id)
    assert job is not None
    assert job.current_stage is not None
    step = progress.current_step(session, job, job.current_stage)
    progress.start_stage(session, job, step, worker="test")
    if fail is not None:
        progress.fail_stage(job, step, error=fail, code="TEST_FAILURE")
    else:
        progress.complete_stage(session, job, step, output={"stage": step.agent})
    session.flush()


def make_job(
    session: Session,
    actor: Actor,
    status: str = "queued",
    *,
    title: str = "clip me",
    stages: int = 0,
) -> JobRead:
    """A job in `status`; `stages` completed stages first (for failed/processing)."""
    created = jobs.create(session, actor=actor, title=title, source_path=None)
    for _ in range(stages):
        run_stage(session, created.id)
    if status == "processing":
        job = session.get(Job, created.id)
        assert job is not None
        assert job.current_stage is not None
        step = progress.current_step(session, job, job.current_stage)
        progress.start_stage(session, job, step, worker="test")
    elif status == "completed":
        for _ in range(len(PIPELINE) - stages):
            run_stage(session, created.id)
    elif status == "failed":
        run_stage(session, created.id, fail="boom")
    elif status == "cancelled":
        jobs.cancel(session, job_id=created.id, actor=actor)
    elif status == "pending":
        job = session.get(Job, created.id)
        assert job is not None
        job.status = "pending"  # only reachable by a crash between insert and queueing
    session.flush()
    return jobs.require(session, job_id=created.id, actor=actor)
