"""Stage results: a stage starts, reports progress, completes (the job moves on) or fails.

`report_status` is the `POST /api/jobs/{id}/status` entry point: an external agent (an API
key with the `agent` scope, or a staff role) reports on a stage, or an operator forces a
status. Every status change goes through the state machine.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job, ProcessingStep
from agentos.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from agentos.schemas.jobs import JobRead, JobStatus, JobStatusUpdate
from agentos.schemas.work import QueuedStep
from agentos.services.context import Actor
from agentos.services.jobs.catalog import PIPELINE, next_stage
from agentos.services.jobs.commands import OPEN_STEP_STATUSES, cancel_job, enqueue_stage, retry_job
from agentos.services.jobs.queries import load
from agentos.services.jobs.state import transition
from agentos.services.pipeline.failures import one_line
from agentos.services.security import apikeys, roles


def current_step(session: Session, job: Job, stage: str) -> ProcessingStep:
    step = session.scalar(
        select(ProcessingStep)
        .where(
            ProcessingStep.job_id == job.id,
            ProcessingStep.agent == stage,
            ProcessingStep.attempt == job.attempts,
        )
        .with_for_update()
    )
    if step is None:
        raise NotFoundError(
            f"job {job.id} has no {stage} step in attempt {job.attempts}", code="STEP_NOT_FOUND"
        )
    return step


def start_stage(session: Session, job: Job, step: ProcessingStep, *, worker: str | None) -> None:
    if step.status != "queued":
        raise ConflictError(f"the {step.agent} step is {step.status}", code="STEP_NOT_QUEUED")
    now = utcnow()
    step.status = "running"
    step.started_at = step.heartbeat_at = now
    step.worker_id = worker
    if job.status != "processing":
        transition(job, "processing")
    job.current_stage = step.agent
    job.started_at = job.started_at or now


def record_progress(job: Job, step: ProcessingStep, progress: float) -> None:
    if step.status != "running":
        raise ConflictError(f"the {step.agent} step is {step.status}", code="STEP_NOT_RUNNING")
    step.progress = progress
    step.heartbeat_at = utcnow()
    index = PIPELINE.index(step.agent)
    job.progress = (index + progress) / len(PIPELINE)


def complete_stage(
    session: Session, job: Job, step: ProcessingStep, *, output: dict[str, Any] | None
) -> QueuedStep | None:
    """Finish a running step; queue the next stage, or complete the job after the last."""
    _finish_step(step, "completed")
    step.progress = 1.0
    step.output = output
    assert step.finished_at is not None
    return advance(session, job, stage=step.agent, finished_at=step.finished_at)


def progress_after(stage: str) -> float:
    """The job's progress once `stage` has completed."""
    return (PIPELINE.index(stage) + 1) / len(PIPELINE)


def advance(
    session: Session,
    job: Job,
    *,
    stage: str,
    finished_at: datetime,
    next_task_id: str | None = None,
) -> QueuedStep | None:
    """`stage` of the (locked) `job` has completed: queue the next stage (returned), or
    complete the job after the last one. `next_task_id`: see `enqueue_stage`."""
    job.progress = progress_after(stage)
    following = next_stage(stage)
    if following is not None:
        return enqueue_stage(session, job_id=job.id, agent=following, job=job, task_id=next_task_id)
    transition(job, "completed")
    job.finished_at = finished_at
    return None


def fail_stage(job: Job, step: ProcessingStep, *, error: str, code: str | None) -> None:
    _finish_step(step, "failed")
    step.error = one_line(error)
    fail_job(job, error=error, code=code)
    step.error_code = job.error_code


def fail_job(job: Job, *, error: str, code: str | None) -> None:
    """The job's `error` is one readable line whoever reports it (an external agent's text
    included); details belong in the log."""
    transition(job, "failed")
    job.error = one_line(error) or "stage failed"
    job.error_code = one_line(code, limit=64) if code else "STAGE_FAILED"
    job.finished_at = utcnow()


def _finish_step(step: ProcessingStep, status: str) -> None:
    if step.status != "running":
        raise ConflictError(f"the {step.agent} step is {step.status}", code="STEP_NOT_RUNNING")
    now = utcnow()
    step.status = status
    step.finished_at = step.heartbeat_at = now
    if step.started_at is not None:
        step.duration_ms = (now - step.started_at).total_seconds() * 1000


def report_stage(
    session: Session, *, job_id: uuid.UUID, actor: Actor, update: JobStatusUpdate
) -> JobRead:
    """An external agent's report on a stage (API key with the `agent` scope)."""
    if apikeys.AGENT_SCOPE not in actor.scopes and not roles.allows(actor.role, "jobs:write"):
        raise ForbiddenError(
            "stage reports need an API key with the agent scope", code="AGENT_SCOPE_REQUIRED"
        )
    job = load(session, job_id=job_id, actor=actor, write=True)
    _report_stage(session, job, update, worker=actor.name)
    session.flush()
    return JobRead.model_validate(job)


def force_status(
    session: Session, *, job_id: uuid.UUID, actor: Actor, update: JobStatusUpdate
) -> JobRead:
    """An operator forcing a job's status (the `job.set_status` action authorizes)."""
    job = load(session, job_id=job_id, actor=actor, write=True)
    _force(session, job, update)
    session.flush()
    return JobRead.model_validate(job)


def _report_stage(session: Session, job: Job, update: JobStatusUpdate, *, worker: str) -> None:
    stage = update.stage or ""
    if stage not in PIPELINE:
        raise InvalidError(f"unknown stage {stage!r}", code="UNKNOWN_AGENT")
    step = current_step(session, job, stage)
    if update.state == "started":
        start_stage(session, job, step, worker=worker)
    elif update.state == "progress":
        record_progress(job, step, update.progress if update.progress is not None else 0.0)
    elif update.state == "completed":
        complete_stage(session, job, step, output=update.output)
    else:
        fail_stage(job, step, error=update.error or "stage failed", code=update.error_code)


def _force(session: Session, job: Job, update: JobStatusUpdate) -> None:
    assert update.status is not None
    to = update.status.value
    if to == "cancelled":
        cancel_job(session, job)
    elif to == "queued" and job.status in JobStatus.RETRYABLE:
        retry_job(session, job)
    elif to == "failed":
        fail_job(job, error=update.error or "failed by an operator", code=update.error_code)
        _close_open_steps(session, job, "failed")
    elif to == "completed":
        transition(job, "completed")
        job.finished_at = utcnow()
        _close_open_steps(session, job, "completed")
    else:
        transition(job, to)


def _close_open_steps(session: Session, job: Job, status: str) -> None:
    session.execute(
        update(ProcessingStep)
        .where(ProcessingStep.job_id == job.id, ProcessingStep.status.in_(OPEN_STEP_STATUSES))
        .values(status=status, finished_at=utcnow())
    )
