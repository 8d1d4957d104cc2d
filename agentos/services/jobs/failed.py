"""What failed and what is being tried again, counted over every row (no sample).

- `failure_figures`: failed jobs per error code (with the newest failure, the counts of the
  last hour and day, and the stages they stopped at) in one GROUP BY over the partial index
  `ix_jobs_failed_error_code` (failed jobs only, so its size is theirs); optionally the
  newest jobs of one code off the same index.
- `retry_figures`: stage attempts waiting to run again. A retry is queued as the stage's
  next attempt with its backoff as `created_at` (`jobs.enqueue_stage(not_before=...)`;
  claims skip it until then), so the waiting ones are queued steps with an earlier attempt
  at the same stage, and their `created_at` is when the next attempt may start. The
  partial index `ix_processing_steps_retry_waiting` holds only queued steps past attempt 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, literal_column, select
from sqlalchemy.orm import Session, aliased

from agentos.db.models import Job, ProcessingStep
from agentos.schemas.figures import FailureFigures, FailureGroup, RetryFigures, RetryWaiting
from agentos.schemas.jobs import JobRead

GROUP_JOBS = 200  # a code's newest failed jobs listed (the TUI retries those listed)
# Codes come from a catalogue, but an external agent may report its own: list the largest
# groups (each costs one more indexed lookup for its latest error); the totals count all.
MAX_GROUPS = 100
RETRIES_SHOWN = 100
# Inline literals (not bound parameters) so the planner matches the partial indexes on
# both databases whatever plan it caches.
FAILED: ColumnElement[bool] = Job.status == literal_column("'failed'")
QUEUED: ColumnElement[bool] = ProcessingStep.status == literal_column("'queued'")
PAST_FIRST: ColumnElement[bool] = ProcessingStep.attempt > literal_column("1")


def _within(column: Any, since: datetime) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((column >= since, 1), else_=0)), 0)


def failure_figures(
    session: Session, *, now: datetime, error_code: str | None = None, jobs_limit: int = GROUP_JOBS
) -> FailureFigures:
    """Failed jobs by error code, most first; with `error_code` ('' for none) its newest jobs."""
    rows = session.execute(
        select(
            Job.error_code,
            Job.current_stage,
            func.count(),
            func.max(Job.finished_at),
            _within(Job.finished_at, now - timedelta(hours=1)),
            _within(Job.finished_at, now - timedelta(hours=24)),
        )
        .where(FAILED)
        .group_by(Job.error_code, Job.current_stage)
    )
    groups: dict[str | None, FailureGroup] = {}
    for code, stage, count, last, hour, day in rows:
        group = groups.setdefault(
            code,
            FailureGroup(error_code=code, jobs=0, last_hour=0, last_24h=0, last_failed_at=None),
        )
        group.jobs += int(count)
        group.last_hour += int(hour)
        group.last_24h += int(day)
        if last is not None and (group.last_failed_at is None or last > group.last_failed_at):
            group.last_failed_at = last
        if stage:
            group.stages[stage] = group.stages.get(stage, 0) + int(count)
    ordered = sorted(groups.values(), key=lambda item: (-item.jobs, item.error_code or ""))
    for group in ordered[:MAX_GROUPS]:
        group.latest_error = session.scalar(
            select(Job.error)
            .where(FAILED, _code_is(group.error_code))
            .order_by(Job.finished_at.desc())
            .limit(1)
        )
    listed = [] if error_code is None else _group_jobs(session, error_code, jobs_limit)
    return FailureFigures(
        failed_jobs=sum(group.jobs for group in ordered),
        codes=len(ordered),
        groups=ordered[:MAX_GROUPS],
        error_code=error_code,
        group_jobs=listed,
        jobs_limit=jobs_limit,
    )


def _code_is(code: str | None) -> ColumnElement[bool]:
    return Job.error_code.is_(None) if not code else Job.error_code == code


def _group_jobs(session: Session, code: str, limit: int) -> list[JobRead]:
    jobs = session.scalars(
        select(Job)
        .where(FAILED, _code_is(code))
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(limit)
    )
    return [JobRead.model_validate(job) for job in jobs]


def retry_figures(session: Session, *, now: datetime, limit: int = RETRIES_SHOWN) -> RetryFigures:
    """Every stage attempt waiting to run again (counted), the soonest `limit` listed."""
    step, earlier = ProcessingStep, aliased(ProcessingStep)
    same_stage = [
        earlier.job_id == step.job_id,
        earlier.agent == step.agent,
        earlier.attempt < step.attempt,
    ]
    waiting = [QUEUED, PAST_FIRST, exists().where(*same_stage)]

    def before(column: Any) -> Any:
        """`column` of the attempt just before (the unique (job, agent, attempt) index)."""
        latest = select(column).where(*same_stage).order_by(earlier.attempt.desc()).limit(1)
        return latest.scalar_subquery()

    total, due = session.execute(
        select(func.count(), _due(now)).select_from(step).where(*waiting)
    ).one()
    rows = session.execute(
        select(
            step.id,
            step.job_id,
            step.agent,
            step.attempt,
            step.created_at,
            Job.title,
            Job.max_attempts,
            before(earlier.error),
            before(earlier.error_code),
            before(earlier.status),
        )
        .join(Job, Job.id == step.job_id)
        .where(*waiting)
        .order_by(step.created_at, step.id)
        .limit(limit)
    )
    retries = [
        RetryWaiting(
            step_id=step_id,
            job_id=job_id,
            title=title,
            agent=agent,
            attempt=attempt,
            max_attempts=max_attempts,
            next_attempt_at=next_at,
            last_error=error,
            last_error_code=code,
            last_status=status,
        )
        for step_id, job_id, agent, attempt, next_at, title, max_attempts, error, code, status in rows
    ]
    return RetryFigures(waiting=int(total), due=int(due), retries=retries, limit=limit)


def _due(now: datetime) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((ProcessingStep.created_at <= now, 1), else_=0)), 0)
