"""Running one claimed processing step: the lifecycle around the six stage functions.

`run_step` is what every runner calls (an embedded pool thread, a Celery task). It never
holds a transaction while media work runs (SQLite writers are serialised, so a long
transaction would stall every other process): the claim (`claims.claim_step`/`claim_next`)
already loaded what the stage needs, the stage runs, and the outcome is recorded in one
more short transaction. An empty stage costs two transactions and about eight statements,
or, handed over to the worker that ran the stage before (pipeline/handover.py), one
transaction of three (`tests/services/pipeline/test_stages.py` and `test_handover.py` hold the
bounds; `scripts/bench_dispatch.py` measures). In between, the
`StageMonitor` heartbeats the step and reads the job's `cancel_requested` from the
database at most every `settings.cancel_check_interval_s`.

Outcomes:
- success: the stage's own rows (media info, clips, ...) and `progress.complete_stage` in one
  transaction, which queues the next stage or completes the job;
- cancelled: the step is already `cancelled` by `jobs.cancel`; the stage just stops;
- the runner shutting down: the step goes back to its queue for another worker;
- a failure: `failures.classify` gives it a code, one readable line and whether a retry
  can help. An input the pipeline cannot process (invalid or missing media, ...) fails the
  job at once; anything else fails the step and queues the stage again (a new attempt)
  after a backoff (`failures.retry_delay_s`) until `job.max_attempts`, then the job fails.
  The traceback goes to the log (`failures.log`), never to the job.

Every write is guarded by `status = 'running' AND worker_id = me`, so a worker that lost
its step (reclaimed after it was presumed dead) cannot record a second result.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Agent, Job, ProcessingStep
from agentos.media import MediaCancelled
from agentos.schemas.jobs import JobStatus
from agentos.schemas.work import ClaimedStep, StepOutcome
from agentos.services import events, jobs
from agentos.services.context import bound
from agentos.services.jobs.catalog import next_stage
from agentos.services.pipeline import claims, failures, moves, progress
from agentos.services.pipeline.failures import Failure
from agentos.services.pipeline.handover import Handover, take_next
from agentos.services.pipeline.monitor import StageMonitor, StopCheck, never
from agentos.services.pipeline.stage import StageContext, StageResult
from agentos.services.pipeline.stage_functions import STAGES
from agentos.services.runtime import Runtime

logger = logging.getLogger(__name__)


def run_step(
    runtime: Runtime,
    *,
    claimed: ClaimedStep,
    should_stop: StopCheck = never,
    reserve_next: bool = False,
    handover: Handover | None = None,
) -> StepOutcome:
    """Run a step this worker has claimed, to one recorded outcome.

    `reserve_next`: the caller sends the next stage's message itself once this returns
    (`outcome.next_step`, `outcome.next_task_id`); the completing commit reserves it, so no
    separate "message sent" transaction and no dispatcher look-up are needed.
    `handover`: the caller may run the next stage itself; if the completing commit started
    it here (pipeline/handover.py), it is `outcome.next_claimed`, and nothing was queued.
    """
    with bound(trace_id=claimed.trace_id, job_id=claimed.job_id):
        return _run(runtime, claimed, should_stop, reserve_next, handover)


def _run(
    runtime: Runtime,
    claimed: ClaimedStep,
    should_stop: StopCheck,
    reserve_next: bool,
    handover: Handover | None,
) -> StepOutcome:
    monitor = StageMonitor(runtime, claimed, external_stop=should_stop)
    started = time.monotonic()
    logger.info("%s started (attempt %d) on %s", claimed.agent, claimed.attempt, claimed.worker_id)
    try:
        context = _load_context(runtime, claimed, monitor)
        if context is None:
            return _outcome(claimed, "skipped")
        if monitor.should_stop():
            raise MediaCancelled("stopped before the stage started")
        result = STAGES[claimed.agent](context)
        if monitor.should_stop():
            raise MediaCancelled("stopped at the end of the stage")
        return _complete(runtime, claimed, result, reserve_next=reserve_next, handover=handover)
    except MediaCancelled:
        return _stopped(runtime, claimed, monitor.reason or "cancelled")
    except Exception as exc:
        return _fail(runtime, claimed, exc)
    finally:
        logger.info("%s finished in %.3f s", claimed.agent, time.monotonic() - started)


def _outcome(claimed: ClaimedStep, status: str, **kw: Any) -> StepOutcome:
    return StepOutcome(step_id=claimed.step_id, agent=claimed.agent, status=status, **kw)


def agent_config(session: Session, agent: str, options: dict[str, Any]) -> dict[str, Any]:
    """Defaults, then the agent's stored config, then the job's own options on top."""
    stored = session.scalar(select(Agent.config).where(Agent.name == agent))
    return claims.merged_config(agent, stored, options)


def _load_context(
    runtime: Runtime, claimed: ClaimedStep, monitor: StageMonitor
) -> StageContext | None:
    """The stage's inputs: as loaded by the claim itself, or (a hand-made claim) read now."""
    if claimed.job is not None and claimed.config is not None:
        return StageContext(runtime, claimed, claimed.job, claimed.config, claimed.outputs, monitor)
    with runtime.session() as session:
        step = session.get(ProcessingStep, claimed.step_id)
        job = session.get(Job, claimed.job_id)
        if step is None or job is None:
            return None
        if step.status != "running" or step.worker_id != claimed.worker_id:
            return None
        outputs = claims.stage_outputs(session, job_id=job.id, agent=claimed.agent)
        options: dict[str, Any] = dict(job.options or {})
        snapshot = claims.job_snapshot(job, options)
        config = agent_config(session, claimed.agent, options)
    return StageContext(runtime, claimed, snapshot, config, outputs, monitor)


def _owned_step(session: Session, claimed: ClaimedStep) -> tuple[ProcessingStep, Job] | None:
    # Job first, then step: the order `jobs.cancel` locks them in (no deadlock with it).
    job = session.get(Job, claimed.job_id, with_for_update=True, populate_existing=True)
    step = session.get(
        ProcessingStep, claimed.step_id, with_for_update=True, populate_existing=True
    )
    if step is None or step.status != "running" or step.worker_id != claimed.worker_id:
        return None
    return None if job is None else (step, job)


@functools.cache
def _finish_statement() -> Any:
    """The step's completion, built once (every stage runs it)."""
    steps = cast(Table, ProcessingStep.__table__)
    return (
        update(steps)
        .where(
            steps.c.id == bindparam("p_step_id"),
            steps.c.status == "running",
            steps.c.worker_id == bindparam("p_worker_id"),
        )
        .values(
            status="completed",
            finished_at=bindparam("p_now"),
            heartbeat_at=bindparam("p_now"),
            progress=1.0,
            output=bindparam("p_output", type_=steps.c.output.type),
            duration_ms=bindparam("p_duration_ms", type_=steps.c.duration_ms.type),
        )
        .returning(steps.c.started_at)
    )


def _finish_owned(
    session: Session, claimed: ClaimedStep, output: dict[str, Any], now: datetime
) -> datetime | None:
    """Mark the step completed at `now` with its timing if this worker still owns it (one
    UPDATE); `now`, or None."""
    duration_ms = None
    if claimed.started_at is not None:
        duration_ms = (now - claimed.started_at).total_seconds() * 1000
    result = (
        session.connection()
        .execute(
            _finish_statement(),
            {
                "p_step_id": claimed.step_id,
                "p_worker_id": claimed.worker_id,
                "p_now": now,
                "p_output": output,
                "p_duration_ms": duration_ms,
            },
        )
        .first()
    )
    if result is None:
        return None
    if claimed.started_at is None and result.started_at is not None:
        # A hand-made claim without its start time: the timing costs one more statement.
        session.execute(
            update(ProcessingStep)
            .where(ProcessingStep.id == claimed.step_id)
            .values(duration_ms=(now - result.started_at).total_seconds() * 1000)
            .execution_options(synchronize_session=False)
        )
    return now


def _complete(
    runtime: Runtime,
    claimed: ClaimedStep,
    result: StageResult,
    *,
    reserve_next: bool,
    handover: Handover | None,
) -> StepOutcome:
    """Record success in one transaction: the step, the stage's own rows, the next stage."""
    following = next_stage(claimed.agent)
    held = following if following and handover and handover.reserve(following) else None
    try:
        outcome = _record_success(runtime, claimed, result, reserve_next, held)
    except BaseException:
        if held is not None and handover is not None:
            handover.release(held)
        raise
    if held is not None and handover is not None and outcome.next_claimed is None:
        handover.release(held)
    return outcome


def _record_success(
    runtime: Runtime,
    claimed: ClaimedStep,
    result: StageResult,
    reserve_next: bool,
    hand_to_self: str | None,
) -> StepOutcome:
    with runtime.session(relaxed=result.apply is None) as session:
        if result.apply is None:
            # Pure bookkeeping (the stage wrote no rows of its own): see `claims.relaxed_commit`.
            claims.relaxed_commit(session)
        # Job first, then step: the order `jobs.cancel` locks them in. Moved on at once
        # when this worker starts the next stage or this was the last (pipeline/moves.py).
        following, now = next_stage(claimed.agent), utcnow()
        fast = hand_to_self is not None or following is None
        locked = (
            moves.lock_processing(
                session,
                job_id=claimed.job_id,
                now=now,
                progress=progress.progress_after(claimed.agent),
                next_stage=following,
            )
            if fast
            else None
        )
        job = None if locked is not None else session.get(Job, claimed.job_id, with_for_update=True)
        finished = None
        if locked is not None or job is not None:
            finished = _finish_owned(session, claimed, result.output, now)
        if finished is None:
            # Cancelled between the stage's last check and here: nothing is recorded.
            session.rollback()
            status = session.scalar(
                select(ProcessingStep.status).where(ProcessingStep.id == claimed.step_id)
            )
            return _outcome(claimed, "cancelled" if status == "cancelled" else "skipped")
        if result.apply is not None:
            job = job or session.get(Job, claimed.job_id)
            assert job is not None  # locked above
            result.apply(session, job)
        if locked is not None and following is None:
            return _outcome(claimed, "completed")
        if hand_to_self is not None and locked is not None:
            started = take_next(
                session, job=job or locked, agent=hand_to_self, worker_id=claimed.worker_id
            )
            if started is not None:
                return _outcome(
                    claimed, "completed", next_agent=started.agent, next_claimed=started
                )
        job = job or session.get(Job, claimed.job_id)
        assert job is not None  # locked above
        task_id = str(uuid.uuid4()) if reserve_next else None
        queued = progress.advance(
            session, job, stage=claimed.agent, finished_at=finished, next_task_id=task_id
        )
    return _outcome(
        claimed,
        "completed",
        next_agent=next_stage(claimed.agent),
        next_step=queued,
        next_task_id=task_id if queued is not None else None,
    )


def give_back(runtime: Runtime, claimed: ClaimedStep, *, reason: str) -> None:
    """Return a claimed step that will not run here to its queue, for another worker."""
    with runtime.session() as session:
        owned = _owned_step(session, claimed)
        if owned is not None:
            jobs.requeue_step(session, step=owned[0], reason=reason)


def _stopped(runtime: Runtime, claimed: ClaimedStep, reason: str) -> StepOutcome:
    with runtime.session() as session:
        owned = _owned_step(session, claimed)
        if owned is None:
            return _outcome(claimed, "cancelled" if reason == "cancelled" else "skipped")
        step, job = owned
        if reason == "shutdown":
            jobs.requeue_step(session, step=step, reason="its worker shut down")
            return _outcome(claimed, "requeued")
        _close(step, "cancelled")
        if job.status in JobStatus.IN_FLIGHT:
            jobs.cancel_job(session, job)
    return _outcome(claimed, "cancelled")


def _close(step: ProcessingStep, status: str, failure: Failure | None = None) -> None:
    now = utcnow()
    step.status = status
    step.finished_at = step.heartbeat_at = now
    step.error, step.error_code = (failure.message, failure.code) if failure else (None, None)
    if step.started_at is not None:
        step.duration_ms = (now - step.started_at).total_seconds() * 1000


def _fail(runtime: Runtime, claimed: ClaimedStep, exc: Exception) -> StepOutcome:
    failure = failures.classify(exc, step_id=claimed.step_id)
    outcome = "not recorded"
    try:
        outcome = failures.recorded(lambda: _record_failure(runtime, claimed, failure))
    finally:
        failures.log(
            failure,
            exc,
            agent=claimed.agent,
            job_id=claimed.job_id,
            step_id=claimed.step_id,
            attempt=claimed.attempt,
            outcome=outcome,
        )
    return _outcome(claimed, outcome, error=failure.message)


def _record_failure(runtime: Runtime, claimed: ClaimedStep, failure: Failure) -> str:
    """Fail the step; retry the stage later or fail the job. Returns the outcome."""
    with runtime.session() as session:
        owned = _owned_step(session, claimed)
        if owned is None:
            return "skipped"
        step, job = owned
        if job.status not in JobStatus.IN_FLIGHT:
            _close(step, "failed", failure)
            return "failed"
        if failure.retryable and job.attempts < job.max_attempts:
            _retry(session, claimed, step, job, failure)
            return "retrying"
        _fail_job(session, claimed, step, job, failure)
        return "failed"


def _retry(
    session: Session, claimed: ClaimedStep, step: ProcessingStep, job: Job, failure: Failure
) -> None:
    """Close the failed attempt; queue the next one to start after the backoff."""
    _close(step, "failed", failure)
    delay = failures.retry_delay_s(job.attempts)
    job.attempts += 1
    events.emit(
        session,
        severity="warning",
        source=f"agent.{claimed.agent}",
        kind="step.retry",
        message=f"{claimed.agent} failed on job {job.id} ({failure.message}); "
        f"attempt {job.attempts} of {job.max_attempts} in {delay:.0f} s",
        details={"error_code": failure.code, "retry_in_s": delay},
        job_id=job.id,
    )
    jobs.enqueue_stage(
        session,
        job_id=job.id,
        agent=claimed.agent,
        job=job,
        not_before=utcnow() + timedelta(seconds=delay),
    )


def _fail_job(
    session: Session, claimed: ClaimedStep, step: ProcessingStep, job: Job, failure: Failure
) -> None:
    progress.fail_stage(job, step, error=f"{claimed.agent}: {failure.message}", code=failure.code)
    events.emit(
        session,
        severity="error",
        source=f"agent.{claimed.agent}",
        kind="job.failed",
        message=f"job {job.id} failed at {claimed.agent}: {failure.message}",
        details={"error_code": failure.code, "step_id": str(claimed.step_id)},
        job_id=job.id,
    )
