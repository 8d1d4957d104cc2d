"""The worker actions' logic over either transport (`worker_control`).

Who should answer comes from the `workers` table (online rows of the control's kind); a
listed worker that does not answer within the reply timeout is reported missing. The
database side of a revoke (the stage's job cancelled) is the same on both deployments.

Everything before a request reads through a read-only session and the action's own
session is not touched until the replies are in: on SQLite its first statement takes the
write lock, which the bus (and the answering runner) would then wait for.
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from agentos.db.models import Job, ProcessingStep, Worker
from agentos.errors import ConflictError, NotFoundError, UnavailableError
from agentos.schemas.actions_workers import (
    WorkerPoolResult,
    WorkerReplies,
    WorkerReply,
    WorkerRevokeResult,
    WorkerShutdownResult,
    WorkerStats,
    WorkerStatsResult,
)
from agentos.schemas.jobs import JobStatus
from agentos.services.jobs import commands as job_commands
from agentos.services.pipeline.worker_control import WorkerControl, control_of
from agentos.services.runtime import runtime_of, settings_of

SHUTDOWN_WAIT_S = 5.0


def _control(session: Session) -> WorkerControl:
    return control_of(runtime_of(session))


def _timeout(session: Session) -> float:
    return settings_of(session).worker_reply_timeout_s


def online_workers(session: Session, kind: str) -> list[str]:
    """Online workers of `kind`, read outside the action's transaction."""
    with runtime_of(session).read_session() as reader:
        return list(
            reader.scalars(
                select(Worker.name)
                .where(Worker.kind == kind, Worker.status == "online")
                .order_by(Worker.name)
            )
        )


def _known(session: Session, control: WorkerControl, worker: str) -> None:
    online = online_workers(session, control.kind)
    if worker not in online:
        raise NotFoundError(
            f"no online {control.kind} worker named {worker!r} "
            f"(online: {', '.join(online) or 'none'})",
            code="WORKER_NOT_FOUND",
            details={"worker": worker},
        )


def _expected(session: Session, control: WorkerControl, worker: str | None) -> list[str]:
    return [worker] if worker else online_workers(session, control.kind)


def _missing(expected: list[str], answered: set[str]) -> list[str]:
    return [name for name in expected if name not in answered]


def ping(session: Session, *, worker: str | None) -> WorkerReplies:
    control, timeout = _control(session), _timeout(session)
    expected = _expected(session, control, worker)
    replies = control.ping(
        [worker] if worker else None, timeout_s=timeout, expect=len(expected) or None
    )
    answered = {reply.worker for reply in replies}
    return WorkerReplies(replies=replies, missing=_missing(expected, answered), timeout_s=timeout)


def stats(session: Session, *, worker: str | None) -> WorkerStatsResult:
    control, timeout = _control(session), _timeout(session)
    expected = _expected(session, control, worker)
    replies = control.stats(
        [worker] if worker else None, timeout_s=timeout, expect=len(expected) or None
    )
    figures = [
        WorkerStats.model_validate(
            {**reply.result, "worker": reply.worker, "latency_ms": reply.latency_ms}
        )
        for reply in replies
        if reply.ok
    ]
    answered = {reply.worker for reply in replies if reply.ok}
    return WorkerStatsResult(
        workers=figures, missing=_missing(expected, answered), timeout_s=timeout
    )


def _single(replies: list[WorkerReply], worker: str, timeout_s: float) -> WorkerReply:
    """The named worker's reply; an absence or a refusal is the action's error."""
    reply = next((reply for reply in replies if reply.worker == worker), None)
    if reply is None:
        raise UnavailableError(
            f"worker {worker} did not answer within {timeout_s:g} s",
            code="WORKER_NO_REPLY",
            details={"worker": worker},
        )
    if not reply.ok:
        raise ConflictError(
            f"worker {worker} refused: {reply.error}",
            code="WORKER_REFUSED",
            details={"worker": worker, "error": reply.error},
        )
    return reply


def resize(session: Session, *, worker: str, delta: int) -> WorkerPoolResult:
    control, timeout = _control(session), _timeout(session)
    _known(session, control, worker)
    reply = _single(control.resize(worker, delta, timeout_s=timeout), worker, timeout)
    return WorkerPoolResult.model_validate({**reply.result, "worker": worker})


def autoscale(session: Session, *, worker: str, low: int, high: int) -> WorkerPoolResult:
    control, timeout = _control(session), _timeout(session)
    _known(session, control, worker)
    reply = _single(control.autoscale(worker, low, high, timeout_s=timeout), worker, timeout)
    return WorkerPoolResult.model_validate({**reply.result, "worker": worker})


def running_on(session: Session, worker: str) -> int:
    with runtime_of(session).read_session() as reader:
        return len(
            reader.scalars(
                select(ProcessingStep.id).where(
                    ProcessingStep.status == "running", ProcessingStep.worker_id == worker
                )
            ).all()
        )


def shutdown(session: Session, *, worker: str, dry_run: bool) -> WorkerShutdownResult:
    """Warm shutdown: the worker takes no more work and exits once its stages finish."""
    control = _control(session)
    _known(session, control, worker)
    running = running_on(session, worker)
    if dry_run:
        return WorkerShutdownResult(worker=worker, running=running, offline=False, dry_run=True)
    control.shutdown(worker, timeout_s=_timeout(session))
    offline = _wait_offline(session, control, worker) if running == 0 else False
    return WorkerShutdownResult(worker=worker, running=running, offline=offline)


def _wait_offline(session: Session, control: WorkerControl, worker: str) -> bool:
    """Whether the idle worker went away (its row offline, or it stopped answering)."""
    deadline = time.monotonic() + SHUTDOWN_WAIT_S
    runtime = runtime_of(session)
    while time.monotonic() < deadline:
        with runtime.read_session() as reader:
            status = reader.scalar(select(Worker.status).where(Worker.name == worker))
        if status == "offline":
            return True
        time.sleep(0.1)
    return not control.ping([worker], timeout_s=_timeout(session))


def _step_of(session: Session, task_id: str) -> ProcessingStep:
    try:
        step_id: uuid.UUID | None = uuid.UUID(task_id)
    except ValueError:
        step_id = None
    condition = ProcessingStep.task_id == task_id
    if step_id is not None:
        condition = or_(condition, ProcessingStep.id == step_id)
    step = session.scalar(select(ProcessingStep).where(condition).with_for_update())
    if step is None:
        raise NotFoundError(
            f"no stage has task id {task_id}", code="TASK_NOT_FOUND", details={"task_id": task_id}
        )
    return step


def revoke(session: Session, *, task_id: str, terminate: bool) -> WorkerRevokeResult:
    """The stage does not run (a running one stops only with `terminate`); a job cannot go
    on without one of its stages, so it is cancelled (retry it to run again)."""
    step = _step_of(session, task_id)
    status = step.status
    if status not in ("queued", "running"):
        raise ConflictError(
            f"the task already ended ({status}); nothing to revoke",
            code="TASK_FINISHED",
            details={"task_id": task_id, "status": status},
        )
    if status == "running" and not terminate:
        raise ConflictError(
            "the task is running; revoke it with terminate=true to stop it",
            code="TASK_RUNNING",
            details={"task_id": task_id, "worker": step.worker_id},
        )
    job = session.get(Job, step.job_id, with_for_update=True)
    assert job is not None  # a step's job is deleted with it
    if job.status not in JobStatus.TERMINAL:
        job_commands.cancel_job(session, job)
    session.flush()
    if step.task_id:
        _control(session).revoke(step.task_id, terminate=terminate)
    return WorkerRevokeResult(
        task_id=task_id,
        step_id=step.id,
        job_id=job.id,
        agent=step.agent,
        step_status=status,
        terminated=status == "running",
        job_status=job.status,
    )
