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

import functools
import os
import socket
import typing
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from agentos.db.models import (
    Agent,
    Job,
    ProcessingStep,
    RuntimeSetting,
    SystemEvent,
    Worker,
)
from agentos.db.session import is_relaxed
from agentos.schemas.work import (
    ClaimedStep,
    QueuedStep,
    ReclaimReport,
    StepControl,
    WorkerInfo,
)
from agentos.services import agents as agents_service
from agentos.services import dispatch, events, queue
from agentos.services.agent_defaults import PIPELINE, default_config
from agentos.services.jobs import state
from agentos.services.runtime import settings_of


def _now() -> datetime:
    return datetime.now(UTC)


def runnable(agent: Any) -> ColumnElement[bool]:
    """`agent` is enabled and the queue is not paused, checked inside the claiming statement.

    The same rule as `runnable_agents`, as SQL, so a claim costs one round trip and sees the
    switches as of its own snapshot (no cached flags to go stale).
    """
    enabled = exists().where(Agent.name == agent, Agent.enabled.is_(True))
    paused = exists().where(
        RuntimeSetting.key == queue.PAUSED_KEY, cast(RuntimeSetting.value, String) == "true"
    )
    return and_(enabled, ~paused)


def _candidates(agents: set[str]) -> Select[Any]:
    return (
        select(ProcessingStep.id)
        .where(
            ProcessingStep.status == "queued",
            ProcessingStep.agent.in_(sorted(agents)),
            runnable(ProcessingStep.agent),
        )
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
    if not agents:
        return None
    candidate = _candidates(agents)
    if session.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True, of=ProcessingStep)
    where = ProcessingStep.id == candidate.scalar_subquery()
    return _take(session, _claim_update(where, "queued"), worker_id)


def claim_step(session: Session, *, step_id: uuid.UUID, worker_id: str) -> ClaimedStep | None:
    """Take one given step (a Celery task names its step) if it is queued and may run now."""
    return _take(session, _claim_step_statement(), worker_id, {"p_step_id": step_id})


@functools.cache
def _claim_step_statement() -> Any:
    # Built once: a Celery worker runs it for every message.
    where = and_(ProcessingStep.id == bindparam("p_step_id"), runnable(ProcessingStep.agent))
    return _claim_update(where, "queued")


def take_over(session: Session, *, step_id: uuid.UUID, worker_id: str) -> ClaimedStep | None:
    """Take a step left `running` by a worker that is gone (a redelivered Celery task)."""
    step = session.get(ProcessingStep, step_id)
    if step is None or step.status != "running" or step.worker_id == worker_id:
        return None
    if not _worker_lost(session, step.worker_id, step.heartbeat_at):
        return None
    guard = and_(
        ProcessingStep.id == step_id,
        ProcessingStep.worker_id == step.worker_id,
        runnable(ProcessingStep.agent),
    )
    return _take(session, _claim_update(guard, "running"), worker_id, announce_status=False)


def handed_over_after(session: Session, *, step_id: uuid.UUID) -> uuid.UUID | None:
    """The running step of `step_id`'s job that was handed over (services/handover.py)
    rather than sent: it has no message, so only the message it followed can recover it."""
    job_id = select(ProcessingStep.job_id).where(ProcessingStep.id == step_id).scalar_subquery()
    return session.scalar(
        select(ProcessingStep.id).where(
            ProcessingStep.job_id == job_id,
            ProcessingStep.status == "running",
            ProcessingStep.task_id.is_(None),
            ProcessingStep.id != step_id,
        )
    )


def _claim_update(where: Any, from_status: str) -> Any:
    """The claim: one conditional UPDATE that also returns the agent's stored config."""
    stored_config = select(Agent.config).where(Agent.name == ProcessingStep.agent)
    return (
        update(ProcessingStep)
        .where(where, ProcessingStep.status == from_status)
        .values(
            status="running",
            worker_id=bindparam("p_worker_id"),
            started_at=bindparam("p_now"),
            heartbeat_at=bindparam("p_now"),
            progress=0.0,
            finished_at=None,
            error=None,
        )
        .returning(
            ProcessingStep.id,
            ProcessingStep.job_id,
            ProcessingStep.agent,
            ProcessingStep.attempt,
            stored_config.scalar_subquery().label("config"),
        )
        .execution_options(synchronize_session=False)
    )


def _take(
    session: Session,
    statement: Any,
    worker_id: str,
    params: dict[str, Any] | None = None,
    *,
    announce_status: bool = True,
) -> ClaimedStep | None:
    now = _now()
    row = (
        session.connection()
        .execute(statement, {**(params or {}), "p_worker_id": worker_id, "p_now": now})
        .first()
    )
    if row is None:
        return None
    relaxed_commit(session)  # a claim is runner bookkeeping
    job = _job_started(
        session, job_id=row.job_id, agent=row.agent, now=now, announce_status=announce_status
    )
    options: dict[str, Any] = dict(job.options or {}) if job is not None else {}
    return ClaimedStep(
        step_id=row.id,
        job_id=row.job_id,
        agent=row.agent,
        attempt=row.attempt,
        worker_id=worker_id,
        started_at=now,
        job=job_snapshot(job, options) if job is not None else None,
        config=merged_config(row.agent, row.config, options),
    )


_SNAPSHOT_FIELDS = (
    "id",
    "title",
    "source_path",
    "source_sha256",
    "source_size",
    "media_info",
    "options",
    "status",
)


@functools.cache
def _job_started_statement() -> Any:
    """The job of a claimed step: processing (from queued: the state machine's only move
    here), at that stage, started; built once, and returning what the stage reads."""
    jobs = typing.cast(Table, Job.__table__)
    return (
        update(jobs)
        .where(jobs.c.id == bindparam("p_job_id"))
        .values(
            status=case((jobs.c.status == "queued", "processing"), else_=jobs.c.status),
            current_stage=bindparam("p_stage"),
            started_at=func.coalesce(jobs.c.started_at, bindparam("p_now")),
            updated_at=bindparam("p_now"),
        )
        .returning(*(jobs.c[name] for name in _SNAPSHOT_FIELDS))
    )


def _job_started(
    session: Session, *, job_id: uuid.UUID, agent: str, now: datetime, announce_status: bool
) -> Row[Any] | None:
    job = (
        session.connection()
        .execute(_job_started_statement(), {"p_job_id": job_id, "p_stage": agent, "p_now": now})
        .first()
    )
    if job is None:
        return None
    if announce_status and job.status == "processing":
        # A claimed step was queued, and so was its job (`enqueue_stage`, `requeue`).
        events.announce(
            session, "job.status", job_id=job.id, status="processing", previous="queued"
        )
    events.announce(session, "job.stage", job_id=job.id, stage=agent, state="running")
    return job


def job_snapshot(job: Job | Row[Any], options: dict[str, Any]) -> dict[str, Any]:
    """The job fields a stage reads (a plain dict: it outlives the claiming session)."""
    return {
        "id": job.id,
        "title": job.title,
        "source_path": job.source_path,
        "source_sha256": job.source_sha256,
        "source_size": job.source_size,
        "media_info": job.media_info,
        "options": options,
    }


def stage_outputs(session: Session, *, job_id: uuid.UUID, agent: str) -> dict[str, dict[str, Any]]:
    """What the job's earlier stages produced (the first stage has no earlier ones)."""
    if agent == PIPELINE[0]:
        return {}
    rows = session.execute(
        select(ProcessingStep.agent, ProcessingStep.output)
        .where(ProcessingStep.job_id == job_id, ProcessingStep.status == "completed")
        .order_by(ProcessingStep.finished_at)
    )
    return {name: output or {} for name, output in rows}


def merged_config(
    agent: str, stored: dict[str, Any] | None, options: dict[str, Any]
) -> dict[str, Any]:
    """Defaults, then the agent's stored config, then the job's own options on top."""
    config = default_config(agent)
    config.update(stored or {})
    if agent == "clipper":
        for key in ("min_clip_s", "max_clip_s"):
            if options.get(key) is not None:
                config[key] = options[key]
    if agent == "scenes" and options.get("scene_threshold") is not None:
        config["threshold"] = options["scene_threshold"]
    return config


def relaxed_commit(session: Session) -> None:
    """Let this transaction's commit skip the WAL flush (PostgreSQL `synchronous_commit=off`).

    Only for runner bookkeeping: heartbeats, message reservations, claims, and the
    completion of a stage that wrote no rows of its own. The commit returns without waiting
    for the disk (an fsync costs more than the rest of a stage hop). A worker that dies loses
    nothing this way; only a crash of the PostgreSQL server can lose such commits, at most
    the last ~3 x `wal_writer_delay` (0.6 s by default), and what that leaves behind is what
    `reclaim_stale` repairs after a server restart (`_after_database_restart`): a claim lost
    leaves its step queued with its message consumed, a completion lost leaves it running
    with no runner. Any later durable commit makes all earlier ones durable (the WAL is one
    sequence), so nothing is ever lost out of order.

    The runner's own sessions are relaxed by their connection (`session_scope(relaxed=True)`),
    which saves this statement in every transaction; others get `SET LOCAL`.
    """
    if not is_relaxed(session) and session.get_bind().dialect.name == "postgresql":
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
    _after_database_restart(session, report, stall_after_s=older_than_s or settings.stall_after_s)
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


_restarts_seen: set[datetime] = set()


def _after_database_restart(
    session: Session, report: ReclaimReport, *, stall_after_s: float
) -> None:
    """Repair what a PostgreSQL crash may have lost of the relaxed commits (`relaxed_commit`).

    - queued steps from before the restart whose message may have been consumed by a claim
      that was lost: their reservation is cleared once, so the sweep sends them again (a
      duplicate message is harmless: only a queued step can be claimed);
    - running steps that have not heartbeated since the restart for `stall_after_s`: their
      completion (or the task running them) was lost; they are re-queued.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    started = session.scalar(text("SELECT pg_postmaster_start_time()"))
    if started is None or _now() - started > timedelta(seconds=stall_after_s * 3):
        return
    if started not in _restarts_seen:
        _restarts_seen.add(started)
        session.execute(
            update(ProcessingStep)
            .where(
                ProcessingStep.status == "queued",
                ProcessingStep.task_id.is_not(None),
                ProcessingStep.created_at < started,
            )
            .values(task_id=None),
            execution_options={"synchronize_session": False},
        )
    if _now() - started < timedelta(seconds=stall_after_s):
        return
    orphans = session.scalars(
        select(ProcessingStep)
        .where(ProcessingStep.status == "running", ProcessingStep.heartbeat_at < started)
        .with_for_update()
    ).all()
    for step in orphans:
        requeue(session, step=step, reason="its runner was lost in a database restart")
        report.requeued.append(step.id)


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
