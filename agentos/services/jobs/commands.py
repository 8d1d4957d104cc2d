"""Changing jobs: create, queue a stage, cancel, retry, delete, reprioritise.

Work is queued as a `processing_steps` row (status queued) that a runner claims; the
runner is woken after the commit (`dispatch.request_dispatch`), so it never looks for a
row that does not exist yet. Pausing the queue stops dispatch, not queueing.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Clip, Job, ProcessingStep
from agentos.errors import ConflictError, InvalidError, NotFoundError
from agentos.schemas.jobs import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    JobDeleted,
    JobOptions,
    JobRead,
    JobStatus,
)
from agentos.schemas.work import QueuedStep
from agentos.services import dispatch, events
from agentos.services.context import Actor, bound, current_trace_id
from agentos.services.jobs import counts
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.jobs.queries import load, resume_stage
from agentos.services.jobs.state import transition
from agentos.services.outbox import after_commit
from agentos.services.runtime import settings_of
from agentos.services.security import roles

OPEN_STEP_STATUSES = ("queued", "running")


logger = logging.getLogger(__name__)


def enqueue_stage(
    session: Session,
    *,
    job_id: uuid.UUID,
    agent: str,
    job: Job | None = None,
    task_id: str | None = None,
    not_before: datetime | None = None,
) -> QueuedStep | None:
    """Queue `job_id` at stage `agent` for its current attempt and wake that agent's runner.

    Idempotent: a step that already exists for this job, stage and attempt is left alone
    (None is returned), so a redelivered runner task cannot queue a stage twice. `job`:
    the caller already holds the job row locked. `task_id`: the caller reserves the step's
    Celery message in this transaction and sends it after the commit, so no runner is woken;
    without one, a Celery sender registered in this process (`dispatch.step_sender`) gets
    the same treatment, and any other runner is woken. `not_before` (a retry's backoff):
    the step joins the queue then (its `created_at`; claims skip steps not yet due), and
    nobody is woken now: the embedded runner's poll and the Celery sweep find it when due.
    """
    if agent not in PIPELINE:
        raise InvalidError(f"unknown stage {agent!r}", code="UNKNOWN_AGENT")
    if job is None:
        job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"job {job_id} not found", code="JOB_NOT_FOUND")
    attempt = max(job.attempts, 1)
    now = utcnow()
    later = not_before is not None and not_before > now
    sender = dispatch.step_sender(session) if task_id is None and not later else None
    if sender is not None:
        task_id = str(uuid.uuid4())
    step_id = _insert_step(
        session,
        job_id=job.id,
        agent=agent,
        attempt=attempt,
        status="queued",
        priority=job.priority,
        created_at=not_before if later and not_before is not None else now,
        task_id=None if later else task_id,
        task_reserved_at=now if task_id is not None and not later else None,
        trace_id=job.trace_id,
    )
    if step_id is None:
        return None
    if job.status != "queued":
        transition(job, "queued")
        job.queued_at = now
    job.attempts = attempt
    job.current_stage = agent
    session.flush()
    queued = QueuedStep(
        step_id=step_id, job_id=job.id, agent=agent, priority=job.priority, trace_id=job.trace_id
    )
    if later:
        return queued
    if sender is not None and task_id is not None:
        dispatch.send_after_commit(session, sender=sender, step=queued, task_id=task_id)
    elif task_id is None:
        dispatch.request_dispatch(session, agent=agent)
    return queued


def _insert_step(session: Session, **values: object) -> uuid.UUID | None:
    """One INSERT that does nothing when the (job, agent, attempt) step already exists.

    The job row exists already; its pending changes are flushed with the caller's next flush
    (one UPDATE), not before this INSERT.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ProcessingStep)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["job_id", "agent", "attempt"])
        .returning(ProcessingStep.id)
    )
    with session.no_autoflush:
        return session.scalar(statement)


def create(
    session: Session,
    *,
    actor: Actor,
    title: str,
    source_path: str | None,
    source_sha256: str | None = None,
    source_size: int | None = None,
    upload_id: uuid.UUID | None = None,
    options: JobOptions | None = None,
    priority: int = 0,
) -> JobRead:
    """A job owned by `actor`, queued at the first stage."""
    roles.require_own_write(actor.role, "create jobs")
    _check_priority(priority)
    title = title.strip()
    if not title or len(title) > 255:
        raise InvalidError("title must be 1-255 characters", code="INVALID_TITLE")
    ensure_default_agents(session)
    job = Job(
        id=uuid.uuid4(),
        owner_id=actor.id,
        upload_id=upload_id,
        title=title,
        source_path=source_path,
        source_sha256=source_sha256,
        source_size=source_size,
        status="pending",
        priority=priority,
        attempts=1,
        options=(options or JobOptions()).model_dump(exclude_none=True),
        current_stage=PIPELINE[0],
        queued_at=utcnow(),
        trace_id=actor.trace_id or current_trace_id(),
    )
    session.add(job)
    events.announce(session, "job.created", job_id=job.id, owner_id=actor.id, title=title)
    transition(job, "queued")  # in the INSERT itself: its first stage is queued below
    session.flush()
    counts.forget_after_commit(session, actor.id)
    enqueue_stage(session, job_id=job.id, agent=PIPELINE[0], job=job)
    with bound(job_id=job.id):
        logger.info("job created: %r, first stage %s", title, PIPELINE[0])
    return JobRead.model_validate(job)


def cancel_job(session: Session, job: Job) -> None:
    """Cancel a loaded job: a running stage sees `cancel_requested` at its next check."""
    transition(job, "cancelled")
    now = utcnow()
    job.cancel_requested = True
    job.finished_at = now
    session.execute(
        update(ProcessingStep)
        .where(ProcessingStep.job_id == job.id, ProcessingStep.status.in_(OPEN_STEP_STATUSES))
        .values(status="cancelled", finished_at=now)
    )


def cancel(session: Session, *, job_id: uuid.UUID, actor: Actor) -> JobRead:
    job = load(session, job_id=job_id, actor=actor, write=True)
    cancel_job(session, job)
    session.flush()
    return JobRead.model_validate(job)


def retry_job(session: Session, job: Job) -> None:
    """Queue a failed or cancelled job again at the first stage it has not completed."""
    if job.status not in JobStatus.RETRYABLE:
        raise ConflictError(
            f"only failed or cancelled jobs can be retried; this one is {job.status}",
            code="INVALID_TRANSITION",
            details={"from": job.status, "to": "queued"},
        )
    stage = resume_stage(session, job_id=job.id)
    job.attempts += 1
    job.cancel_requested = False
    job.error = None
    job.error_code = None
    job.finished_at = None
    enqueue_stage(session, job_id=job.id, agent=stage)


def retry(session: Session, *, job_id: uuid.UUID, actor: Actor) -> JobRead:
    job = load(session, job_id=job_id, actor=actor, write=True)
    retry_job(session, job)
    return JobRead.model_validate(job)


def delete(session: Session, *, job_id: uuid.UUID, actor: Actor) -> JobDeleted:
    """Remove a finished job, its steps and clips (cascade) and, after commit, its files."""
    job = load(session, job_id=job_id, actor=actor, write=True)
    if job.status not in JobStatus.TERMINAL:
        raise ConflictError(
            f"only finished jobs can be deleted; this one is {job.status}",
            code="JOB_NOT_TERMINAL",
        )
    clips = session.execute(select(Clip.path, Clip.thumbnail_path).where(Clip.job_id == job.id))
    clips_dir = settings_of(session).clips_dir.resolve()
    candidates = [Path(p) for row in clips for p in row if p] + [clips_dir / str(job.id)]
    files = [str(path) for path in candidates if _inside(path, clips_dir) and path.exists()]
    steps = _count(session, ProcessingStep, job.id)
    clip_count = _count(session, Clip, job.id)
    owner_id = job.owner_id
    session.delete(job)
    session.flush()
    events.announce(session, "job.deleted", job_id=job_id)
    counts.forget_after_commit(session, owner_id)
    after_commit(session, lambda: _remove(files))
    return JobDeleted(job_id=job_id, steps=steps, clips=clip_count, files=files)


def set_priority(session: Session, *, job_id: uuid.UUID, priority: int, actor: Actor) -> JobRead:
    """Move a queued job in the dispatch order (priority DESC, then oldest first)."""
    _check_priority(priority)
    job = load(session, job_id=job_id, actor=actor, write=True)
    if job.status != "queued":
        raise ConflictError(
            f"only queued jobs can be reprioritised; this one is {job.status}",
            code="JOB_NOT_QUEUED",
        )
    job.priority = priority
    session.execute(
        update(ProcessingStep)
        .where(ProcessingStep.job_id == job.id, ProcessingStep.status == "queued")
        .values(priority=priority)
    )
    session.flush()
    events.announce(session, "job.priority", job_id=job.id, priority=priority)
    return JobRead.model_validate(job)


def _check_priority(priority: int) -> None:
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise InvalidError(
            f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}", code="INVALID_PRIORITY"
        )


def _count(session: Session, model: type[Clip] | type[ProcessingStep], job_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).where(model.job_id == job_id)) or 0


def _inside(path: Path, root: Path) -> bool:
    """Only files under the clips directory are ever removed, whatever a row says."""
    try:
        return path.resolve().is_relative_to(root)
    except OSError:
        return False


def _remove(paths: list[str]) -> None:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def requeue_step(session: Session, *, step: ProcessingStep, reason: str) -> None:
    """Put a running step back in its queue on the same row (same attempt, same clips)."""
    step.status = "queued"
    step.worker_id = None
    step.task_id = None
    step.progress = 0.0
    step.heartbeat_at = None
    job = session.get(Job, step.job_id)
    if job is not None and job.status == "processing":
        transition(job, "queued")
    events.emit(
        session,
        severity="warning",
        source=f"agent.{step.agent}",
        kind="step.requeued",
        message=f"{step.agent} step of job {step.job_id} re-queued: {reason}",
        details={"step_id": str(step.id), "reason": reason},
        job_id=step.job_id,
    )
    dispatch.request_dispatch(session, agent=step.agent)
