"""Reading jobs: one job, today's jobs, summary statistics (lists: `listing`).

Users see their own jobs only; another user's job is reported as not found, so ids of
other people's jobs cannot be probed. Staff roles see every job.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from agentos.db.models import Clip, Job, ProcessingStep
from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.clips import ClipRead
from agentos.schemas.jobs import JOB_STATUSES, JobDetail, JobRead, JobStats, JobsToday, StepRead
from agentos.services.context import Actor
from agentos.services.jobs import ids
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.jobs.sqlstats import seconds_between
from agentos.services.security import roles

MAX_RECENT = 500


def visible_to(actor: Actor) -> list[ColumnElement[bool]]:
    """The WHERE clauses that limit a query on jobs to what `actor` may see."""
    if roles.sees_all_jobs(actor.role):
        return []
    return [Job.owner_id == actor.id] if actor.id is not None else [Job.id.is_(None)]


def load(session: Session, *, job_id: uuid.UUID, actor: Actor, write: bool = False) -> Job:
    """The job row if `actor` may see it (and, with `write`, change it), else an error."""
    if write:
        roles.require_own_write(actor.role, "change jobs")
    job = session.get(Job, job_id, with_for_update=write or None)
    if job is None or (
        not roles.sees_all_jobs(actor.role) and (actor.id is None or job.owner_id != actor.id)
    ):
        raise NotFoundError(f"job {job_id} not found", code="JOB_NOT_FOUND")
    return job


def require(session: Session, *, job_id: uuid.UUID, actor: Actor) -> JobRead:
    return JobRead.model_validate(load(session, job_id=job_id, actor=actor))


def get_detail(session: Session, *, job_id: uuid.UUID, actor: Actor) -> JobDetail:
    job = load(session, job_id=job_id, actor=actor)
    steps = session.scalars(
        select(ProcessingStep)
        .where(ProcessingStep.job_id == job.id)
        .order_by(ProcessingStep.attempt, ProcessingStep.created_at)
    ).all()
    clips = session.scalars(select(Clip).where(Clip.job_id == job.id).order_by(Clip.ordinal))
    return JobDetail.model_validate(
        {
            **JobRead.model_validate(job).model_dump(),
            "steps": [StepRead.model_validate(step) for step in steps],
            "clips": [ClipRead.model_validate(clip) for clip in clips],
        }
    )


def _newest_first(stmt: Select[Any]) -> Select[Any]:
    return stmt.order_by(Job.created_at.desc(), Job.id.desc())


def recent(session: Session, *, actor: Actor, limit: int = 20) -> list[JobRead]:
    limit = max(1, min(limit, MAX_RECENT))
    rows = session.scalars(_newest_first(select(Job).where(*visible_to(actor))).limit(limit))
    return [JobRead.model_validate(job) for job in rows]


def summary_stats(session: Session, *, actor: Actor, since: datetime | None = None) -> JobStats:
    """Counts per status (one GROUP BY), success rate and mean duration of completed jobs."""
    where = visible_to(actor)
    if since is not None:
        where.append(Job.created_at >= since)
    counts = dict.fromkeys(JOB_STATUSES, 0)
    for status, count in session.execute(
        select(Job.status, func.count()).where(*where).group_by(Job.status)
    ):
        counts[status] = count
    duration = seconds_between(session, Job.started_at, Job.finished_at)
    mean = session.scalar(
        select(func.avg(duration)).where(
            *where, Job.status == "completed", Job.started_at.is_not(None)
        )
    )
    finished = counts["completed"] + counts["failed"]
    return JobStats(
        total=sum(counts.values()),
        by_status=counts,
        active=counts["queued"] + counts["processing"],
        success_rate=counts["completed"] / finished if finished else None,
        mean_duration_s=float(mean) if mean is not None else None,
    )


def today(session: Session, *, actor: Actor, limit: int = 100) -> JobsToday:
    """Jobs created since midnight UTC, newest first, with their statistics."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
    stats = summary_stats(session, actor=actor, since=midnight)
    rows = session.scalars(
        _newest_first(select(Job).where(*visible_to(actor), Job.created_at >= midnight)).limit(
            max(1, min(limit, MAX_RECENT))
        )
    )
    return JobsToday(
        date=now.date(), stats=stats, jobs=[JobRead.model_validate(job) for job in rows]
    )


def resume_stage(session: Session, *, job_id: uuid.UUID) -> str:
    """The first pipeline stage no attempt of this job has completed (where a retry starts)."""
    done = set(
        session.scalars(
            select(ProcessingStep.agent).where(
                ProcessingStep.job_id == job_id, ProcessingStep.status == "completed"
            )
        )
    )
    for stage in PIPELINE:
        if stage not in done:
            return stage
    return PIPELINE[-1]


def resolve_id(session: Session, text: str, *, actor: Actor) -> uuid.UUID:
    """The one job (visible to `actor`) whose id is or starts with `text`."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        pass
    matches = list(
        session.scalars(
            select(Job.id)
            .where(ids.with_prefix(text), *visible_to(actor))
            .order_by(Job.id)
            .limit(5)
        )
    )
    if not matches:
        raise NotFoundError(f"no job id starts with {text!r}", code="JOB_NOT_FOUND")
    if len(matches) > 1:
        shown = ", ".join(str(match) for match in matches[:4])
        raise InvalidError(
            f"{text!r} is the start of several job ids ({shown}{', ...' if len(matches) > 4 else ''}); "
            "type more of it",
            code="AMBIGUOUS_ID",
            details={"matches": [str(match) for match in matches]},
        )
    return matches[0]
