"""Workers: their heartbeat rows, and the reclaim of work whose worker is gone.

A step that was running on a worker that disappeared is reset to `queued` on the same row
(same attempt number), so a re-run replaces rather than duplicates its results; a live
step that makes no progress raises a `stalled` system event once.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select, text, update
from sqlalchemy.orm import Session

from agentos.db.models import ProcessingStep, SystemEvent, Worker
from agentos.schemas.work import ReclaimReport, WorkerInfo
from agentos.services import events, jobs
from agentos.services.runtime import settings_of


def _now() -> datetime:
    return datetime.now(UTC)


def worker_lost(session: Session, worker_name: str | None, step_beat: datetime | None) -> bool:
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
        if worker_lost(session, step.worker_id, step.heartbeat_at):
            jobs.requeue_step(session, step=step, reason=f"worker {step.worker_id} is gone")
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
        jobs.requeue_step(session, step=step, reason="its runner was lost in a database restart")
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


def failed_on(session: Session, worker_name: str) -> int:
    """Stages that failed on this worker (its recent failures, for the worker figures)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ProcessingStep)
            .where(ProcessingStep.worker_id == worker_name, ProcessingStep.status == "failed")
        )
        or 0
    )


def serving(session: Session, agent: str) -> list[str]:
    """Online workers (heartbeat fresh) that consume `agent`'s work: none means queued work
    for it waits until one starts."""
    limit = _now() - timedelta(seconds=settings_of(session).worker_lost_after_s)
    rows = session.execute(
        select(Worker.name, Worker.agents).where(
            Worker.status == "online", Worker.heartbeat_at >= limit
        )
    ).all()
    return sorted(name for name, agents in rows if agent in (agents or []))
