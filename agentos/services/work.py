"""Claiming queued work, step heartbeats, worker heartbeats and the reclaim of lost work.

A queued work item IS a `processing_steps` row with status `queued`. Every runner (the
embedded thread pools, a Celery task) takes one with a single conditional UPDATE, so two
claimers never get the same step:

- PostgreSQL: `UPDATE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1)`;
  concurrent claimers skip each other's locked candidate instead of queueing behind it.
- SQLite: the same statement; writers are serialised by `BEGIN IMMEDIATE`, and the outer
  `status = 'queued'` guard makes a lost race an empty result instead of a double claim.

A step that was running on a worker that disappeared is reset to `queued` on the same row
(same attempt number), so a re-run replaces rather than duplicates its results.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, select, text, update
from sqlalchemy.orm import Session

from agentos.db.models import Job, ProcessingStep, SystemEvent, Worker
from agentos.schemas.work import (
    ClaimedStep,
    QueuedStep,
    ReclaimReport,
    StepControl,
    WorkerInfo,
)
from agentos.services import agents as agents_service
from agentos.services import dispatch, events, queue
from agentos.services.jobs import state
from agentos.services.runtime import settings_of


def _now() -> datetime:
    return datetime.now(UTC)


def _candidates(agents: set[str]) -> Select[Any]:
    return (
        select(ProcessingStep.id)
        .where(ProcessingStep.status == "queued", ProcessingStep.agent.in_(sorted(agents)))
        .order_by(ProcessingStep.priority.desc(), ProcessingStep.created_at.asc())
        .limit(1)
    )


def runnable_agents(session: Session, agents: set[str]) -> set[str]:
    """`agents` minus the stopped ones; nothing at all while the queue is paused."""
    if not agents or queue.is_paused(session):
        return set()
    return agents & agents_service.claimable_agents(session)


def claim_next(session: Session, *, agents: set[str], worker_id: str) -> ClaimedStep | None:
    """Take the next queued step of `agents` (priority DESC, created_at ASC) for `worker_id`."""
    allowed = runnable_agents(session, agents)
    if not allowed:
        return None
    candidate = _candidates(allowed)
    if session.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    return _take(session, ProcessingStep.id == candidate.scalar_subquery(), worker_id)


def claim_step(session: Session, *, step_id: uuid.UUID, worker_id: str) -> ClaimedStep | None:
    """Take one given step (a Celery task names its step) if it is queued and may run now."""
    step = session.get(ProcessingStep, step_id)
    if step is None or step.status != "queued" or not runnable_agents(session, {step.agent}):
        return None
    return _take(session, ProcessingStep.id == step_id, worker_id)


def take_over(session: Session, *, step_id: uuid.UUID, worker_id: str) -> ClaimedStep | None:
    """Take a step left `running` by a worker that is gone (a redelivered Celery task)."""
    step = session.get(ProcessingStep, step_id)
    if step is None or step.status != "running" or step.worker_id == worker_id:
        return None
    if not _worker_lost(session, step.worker_id, step.heartbeat_at):
        return None
    if not runnable_agents(session, {step.agent}):
        return None
    guard = and_(
        ProcessingStep.id == step_id,
        ProcessingStep.worker_id == step.worker_id,
        ProcessingStep.status == "running",
    )
    return _take(session, guard, worker_id, from_status="running")


def _take(
    session: Session, where: object, worker_id: str, *, from_status: str = "queued"
) -> ClaimedStep | None:
    now = _now()
    row = session.execute(
        update(ProcessingStep)
        .where(where, ProcessingStep.status == from_status)  # type: ignore[arg-type]
        .values(
            status="running",
            worker_id=worker_id,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
            finished_at=None,
            error=None,
        )
        .returning(
            ProcessingStep.id, ProcessingStep.job_id, ProcessingStep.agent, ProcessingStep.attempt
        )
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    _job_started(session, job_id=row.job_id, agent=row.agent)
    return ClaimedStep(
        step_id=row.id, job_id=row.job_id, agent=row.agent, attempt=row.attempt, worker_id=worker_id
    )


def _job_started(session: Session, *, job_id: uuid.UUID, agent: str) -> None:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        return
    if job.status == "queued":
        state.transition(job, "processing")
    job.current_stage = agent
    if job.started_at is None:
        job.started_at = _now()
    events.announce(session, "job.stage", job_id=job.id, stage=agent, state="running")


def relaxed_commit(session: Session) -> None:
    """Let this transaction's commit skip the WAL flush (PostgreSQL).

    For writes that are cheap to lose in a database crash and are rewritten soon anyway
    (heartbeats, "message sent" marks): the commit no longer waits for the disk.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def heartbeat(
    session: Session, *, step_id: uuid.UUID, worker_id: str, progress: float | None = None
) -> StepControl:
    """Record that a running stage is alive (and how far it got); tell it whether to go on.

    Cancellation is read from the database here, so a worker that was offline when the
    job was cancelled still stops at its next check.
    """
    relaxed_commit(session)
    values: dict[str, object] = {"heartbeat_at": _now()}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    result = session.execute(
        update(ProcessingStep)
        .where(
            ProcessingStep.id == step_id,
            ProcessingStep.status == "running",
            ProcessingStep.worker_id == worker_id,
        )
        .values(**values)
        .returning(ProcessingStep.job_id)
        .execution_options(synchronize_session=False)
    ).first()
    job_id = (
        result.job_id
        if result is not None
        else session.scalar(select(ProcessingStep.job_id).where(ProcessingStep.id == step_id))
    )
    cancel = bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
    return StepControl(owned=result is not None, cancel_requested=cancel)


def _worker_lost(session: Session, worker_name: str | None, step_beat: datetime | None) -> bool:
    settings = settings_of(session)
    limit = _now() - timedelta(seconds=settings.worker_lost_after_s)
    if worker_name is None:
        return True
    beat = session.scalar(select(Worker.heartbeat_at).where(Worker.name == worker_name))
    if beat is None:
        # No worker row: only judge by the step's own heartbeat (the worker may be new).
        return step_beat is None or step_beat < limit
    status = session.scalar(select(Worker.status).where(Worker.name == worker_name))
    return beat < limit or status == "offline"


def requeue(session: Session, *, step: ProcessingStep, reason: str) -> None:
    """Put a running step back in its queue on the same row (same attempt, same clips)."""
    step.status = "queued"
    step.worker_id = None
    step.task_id = None
    step.progress = 0.0
    step.heartbeat_at = None
    job = session.get(Job, step.job_id)
    if job is not None and job.status == "processing":
        state.transition(job, "queued")
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


def reclaim_stale(session: Session, *, older_than_s: float | None = None) -> ReclaimReport:
    """Re-queue steps whose worker is gone; raise a `stalled` event for silent live ones.

    `older_than_s` (default `settings.stall_after_s`) is how long a running step may go
    without a heartbeat before it counts as stalled.
    """
    settings = settings_of(session)
    report = ReclaimReport(workers_offline=_mark_lost_workers(session))
    stall_limit = _now() - timedelta(seconds=older_than_s or settings.stall_after_s)
    running = session.scalars(
        select(ProcessingStep).where(ProcessingStep.status == "running").with_for_update()
    ).all()
    for step in running:
        if _worker_lost(session, step.worker_id, step.heartbeat_at):
            requeue(session, step=step, reason=f"worker {step.worker_id} is gone")
            report.requeued.append(step.id)
        elif (
            step.heartbeat_at is not None
            and step.heartbeat_at < stall_limit
            and _raise_stalled(session, step)
        ):
            report.stalled.append(step.id)
    return report


def _raise_stalled(session: Session, step: ProcessingStep) -> bool:
    already = session.scalar(
        select(
            exists().where(
                SystemEvent.kind == "stalled",
                SystemEvent.job_id == step.job_id,
                SystemEvent.created_at >= (step.heartbeat_at or step.started_at or _now()),
            )
        )
    )
    if already:
        return False
    events.emit(
        session,
        severity="warning",
        source=f"agent.{step.agent}",
        kind="stalled",
        message=f"{step.agent} stage of job {step.job_id} made no progress since "
        f"{step.heartbeat_at:%H:%M:%S} on {step.worker_id}",
        details={"step_id": str(step.id), "worker": step.worker_id},
        job_id=step.job_id,
    )
    return True


def _mark_lost_workers(session: Session) -> list[str]:
    limit = _now() - timedelta(seconds=settings_of(session).worker_lost_after_s)
    names = list(
        session.scalars(
            select(Worker.name).where(Worker.status != "offline", Worker.heartbeat_at < limit)
        )
    )
    if names:
        session.execute(
            update(Worker).where(Worker.name.in_(names)).values(status="offline"),
            execution_options={"synchronize_session": False},
        )
    return names


# Workers -------------------------------------------------------------------------------


def default_worker_name(kind: str) -> str:
    return f"{kind}-{os.getpid()}@{socket.gethostname()}"


def worker_heartbeat(
    session: Session,
    *,
    name: str,
    kind: str,
    agents: list[str],
    concurrency: int,
    cpu_percent: float | None = None,
    memory_bytes: int | None = None,
    tasks_done: int | None = None,
    tasks_failed: int | None = None,
    status: str = "online",
) -> WorkerInfo:
    """Create or refresh this worker's row in `workers` (the liveness the reclaim reads)."""
    worker = session.scalar(select(Worker).where(Worker.name == name).with_for_update())
    now = _now()
    if worker is None:
        worker = Worker(
            name=name,
            kind=kind,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            started_at=now,
            tasks_done=0,
            tasks_failed=0,
        )
        session.add(worker)
    worker.agents = sorted(agents)
    worker.concurrency = concurrency
    worker.status = status
    worker.heartbeat_at = now
    worker.cpu_percent = cpu_percent
    worker.memory_bytes = memory_bytes
    if tasks_done is not None:
        worker.tasks_done = tasks_done
    if tasks_failed is not None:
        worker.tasks_failed = tasks_failed
    session.flush()
    return WorkerInfo.model_validate(worker, from_attributes=True)


def worker_offline(session: Session, *, name: str) -> None:
    session.execute(
        update(Worker).where(Worker.name == name).values(status="offline", heartbeat_at=_now()),
        execution_options={"synchronize_session": False},
    )


def queued_unsent(session: Session, *, agents: set[str], limit: int = 200) -> list[QueuedStep]:
    """Queued steps no Celery message was sent for yet (dispatch order)."""
    rows = session.execute(
        select(
            ProcessingStep.id, ProcessingStep.job_id, ProcessingStep.agent, ProcessingStep.priority
        )
        .where(
            ProcessingStep.status == "queued",
            ProcessingStep.agent.in_(sorted(agents)),
            ProcessingStep.task_id.is_(None),
        )
        .order_by(ProcessingStep.priority.desc(), ProcessingStep.created_at.asc())
        .limit(limit)
    )
    return [
        QueuedStep(step_id=row.id, job_id=row.job_id, agent=row.agent, priority=row.priority)
        for row in rows
    ]


def mark_sent(session: Session, *, step_id: uuid.UUID, task_id: str) -> bool:
    """Reserve the right to send the one message for a step (False: someone else did)."""
    relaxed_commit(session)
    result = session.execute(
        update(ProcessingStep)
        .where(
            ProcessingStep.id == step_id,
            ProcessingStep.status == "queued",
            ProcessingStep.task_id.is_(None),
        )
        .values(task_id=task_id),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_sent(session: Session, *, step_id: uuid.UUID) -> None:
    """Forget a step's message (it arrived while the agent could not run it): send again later."""
    session.execute(
        update(ProcessingStep)
        .where(ProcessingStep.id == step_id, ProcessingStep.status == "queued")
        .values(task_id=None),
        execution_options={"synchronize_session": False},
    )
