"""Jobs & Queue view: job.cancel, job.retry, job.delete, job.set_priority, job.set_status,
queue.clear, queue.retry_failed. Handlers only translate; the job logic is in
services.jobs, services.queue and (forcing a status) services.pipeline.progress.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import (
    JobDeletePayload,
    JobDeleteResult,
    JobIdPayload,
    JobSetPriorityPayload,
    JobSetStatusPayload,
    QueueClearPayload,
    QueueRetryFailedPayload,
)
from agentos.schemas.jobs import JobRead, JobStatusUpdate
from agentos.schemas.queue import QueueClearResult, QueueRetryResult
from agentos.services import jobs, queue
from agentos.services.actions.dryrun import rehearse
from agentos.services.actions.registry import ActionContext, action
from agentos.services.pipeline import progress

VIEW = "Jobs & Queue"


@action(
    "job.cancel",
    view=VIEW,
    summary="Cancel a queued or processing job; a running stage stops at its next check",
    payload=JobIdPayload,
    result=JobRead,
    permission="jobs:write",
)
def job_cancel(session: Session, payload: JobIdPayload, ctx: ActionContext) -> JobRead:
    return jobs.cancel(session, job_id=payload.job_id, actor=ctx.actor)


@action(
    "job.retry",
    view=VIEW,
    summary="Queue a failed or cancelled job again, resuming at the stage that failed",
    payload=JobIdPayload,
    result=JobRead,
    permission="jobs:write",
    dependencies=("database", "broker"),
)
def job_retry(session: Session, payload: JobIdPayload, ctx: ActionContext) -> JobRead:
    return jobs.retry(session, job_id=payload.job_id, actor=ctx.actor)


@action(
    "job.delete",
    view=VIEW,
    summary="Remove a finished job with its steps, clips and files",
    payload=JobDeletePayload,
    result=JobDeleteResult,
    permission="jobs:write",
    rate_class="high_risk",
    dangerous=True,
    dependencies=("database", "storage"),
)
def job_delete(session: Session, payload: JobDeletePayload, ctx: ActionContext) -> JobDeleteResult:
    def run() -> JobDeleteResult:
        deleted = jobs.delete(session, job_id=payload.job_id, actor=ctx.actor)
        return JobDeleteResult(**deleted.model_dump(), dry_run=ctx.dry_run)

    return rehearse(session, run) if ctx.dry_run else run()


@action(
    "job.set_priority",
    view=VIEW,
    summary="Move a queued job in the dispatch order (higher runs first)",
    payload=JobSetPriorityPayload,
    result=JobRead,
    permission="jobs:write",
)
def job_set_priority(
    session: Session, payload: JobSetPriorityPayload, ctx: ActionContext
) -> JobRead:
    return jobs.set_priority(
        session, job_id=payload.job_id, priority=payload.priority, actor=ctx.actor
    )


@action(
    "queue.clear",
    view=VIEW,
    summary="Cancel every queued (not processing) job, or only those waiting at one agent",
    payload=QueueClearPayload,
    result=QueueClearResult,
    permission="queue:write",
    rate_class="high_risk",
    dangerous=True,
)
def queue_clear(
    session: Session, payload: QueueClearPayload, ctx: ActionContext
) -> QueueClearResult:
    return queue.clear(session, actor=ctx.actor, agent=payload.queue, dry_run=ctx.dry_run)


@action(
    "queue.retry_failed",
    view=VIEW,
    summary="Queue every failed job (since a time) again at the stage that failed",
    payload=QueueRetryFailedPayload,
    result=QueueRetryResult,
    permission="queue:write",
    dependencies=("database", "broker"),
)
def queue_retry_failed(
    session: Session, payload: QueueRetryFailedPayload, ctx: ActionContext
) -> QueueRetryResult:
    return queue.retry_failed(
        session, actor=ctx.actor, since=payload.since, dry_run=payload.dry_run
    )


@action(
    "job.set_status",
    view=VIEW,
    summary="Force a job's status through the state machine (an operator's override)",
    payload=JobSetStatusPayload,
    result=JobRead,
    permission="jobs:write",
    rate_class="high_risk",
)
def job_set_status(session: Session, payload: JobSetStatusPayload, ctx: ActionContext) -> JobRead:
    update = JobStatusUpdate(
        status=payload.status, error=payload.error, error_code=payload.error_code
    )
    return progress.force_status(session, job_id=payload.job_id, actor=ctx.actor, update=update)
