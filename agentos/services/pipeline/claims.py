"""Claiming queued work, step heartbeats, worker heartbeats and the reclaim of lost work.

A queued work item IS a `processing_steps` row with status `queued`. Every runner (the
embedded thread pools, a Celery task) takes one with a single conditional UPDATE, so two
claimers never get the same step:

- PostgreSQL: `UPDATE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1)`;
  concurrent claimers skip each other's locked candidate instead of queueing behind it.
- SQLite: the same statement; writers are serialised by `BEGIN IMMEDIATE`, and the outer
  `status = 'queued'` guard makes a lost race an empty result instead of a double claim.

Worker rows and the reclaim of lost work are in `services.workers`.
"""

from __future__ import annotations

import functools
import typing
import uuid
from datetime import UTC, datetime
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

from agentos.db.models import Agent, Job, ProcessingStep, RuntimeSetting
from agentos.db.session import is_relaxed
from agentos.schemas.work import ClaimedStep, StepControl
from agentos.services import agents as agents_service
from agentos.services import events, queue
from agentos.services.jobs.catalog import PIPELINE, default_config
from agentos.services.pipeline import workers


def now() -> datetime:
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


def due() -> ColumnElement[bool]:
    """The step is due: a retry waits out its backoff (`enqueue_stage(not_before=...)`
    queues it with a later `created_at`); `p_now` is the claim's own clock."""
    return ProcessingStep.created_at <= bindparam("p_now", type_=ProcessingStep.created_at.type)


def _candidates(agents: set[str]) -> Select[Any]:
    return (
        select(ProcessingStep.id)
        .where(
            ProcessingStep.status == "queued",
            ProcessingStep.agent.in_(sorted(agents)),
            due(),
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
    where = and_(ProcessingStep.id == bindparam("p_step_id"), due(), runnable(ProcessingStep.agent))
    return _claim_update(where, "queued")


def take_over(session: Session, *, step_id: uuid.UUID, worker_id: str) -> ClaimedStep | None:
    """Take a step left `running` by a worker that is gone (a redelivered Celery task)."""
    step = session.get(ProcessingStep, step_id)
    if step is None or step.status != "running" or step.worker_id == worker_id:
        return None
    if not workers.worker_lost(session, step.worker_id, step.heartbeat_at):
        return None
    guard = and_(
        ProcessingStep.id == step_id,
        ProcessingStep.worker_id == step.worker_id,
        runnable(ProcessingStep.agent),
    )
    return _take(session, _claim_update(guard, "running"), worker_id, announce_status=False)


def handed_over_after(session: Session, *, step_id: uuid.UUID) -> uuid.UUID | None:
    """The running step of `step_id`'s job that was handed over (pipeline/handover.py)
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
    started = now()
    row = (
        session.connection()
        .execute(statement, {**(params or {}), "p_worker_id": worker_id, "p_now": started})
        .first()
    )
    if row is None:
        return None
    relaxed_commit(session)  # a claim is runner bookkeeping
    job = _job_started(
        session, job_id=row.job_id, agent=row.agent, now=started, announce_status=announce_status
    )
    options: dict[str, Any] = dict(job.options or {}) if job is not None else {}
    return ClaimedStep(
        step_id=row.id,
        job_id=row.job_id,
        agent=row.agent,
        attempt=row.attempt,
        worker_id=worker_id,
        started_at=started,
        job=job_snapshot(job, options) if job is not None else None,
        config=merged_config(row.agent, row.config, options),
    )


_SNAPSHOT_FIELDS = (
    "id",
    "upload_id",
    "title",
    "source_path",
    "source_sha256",
    "source_size",
    "media_info",
    "options",
    "status",
    "trace_id",
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
        "upload_id": job.upload_id,
        "title": job.title,
        "source_path": job.source_path,
        "source_sha256": job.source_sha256,
        "source_size": job.source_size,
        "media_info": job.media_info,
        "options": options,
        "trace_id": getattr(job, "trace_id", None),
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

    The runner's own sessions are relaxed by their connection (`runtime.session(relaxed=True)`),
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
    values: dict[str, object] = {"heartbeat_at": now()}
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
