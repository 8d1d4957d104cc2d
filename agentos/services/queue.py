"""The work queue: pause/resume (shared by every process), bulk clear and retry, figures.

The queue is the set of `processing_steps` rows with status `queued`; dispatch order is
priority DESC, then oldest first. The paused flag lives in the runtime `settings` table so
every server, worker and CLI on the deployment sees the same value.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from agentos.db import keyset
from agentos.db.base import utcnow
from agentos.db.keyset import Keyset, SortKey
from agentos.db.models import Job, ProcessingStep, RuntimeSetting
from agentos.schemas.common import Page, PageParams
from agentos.schemas.jobs import JobStatus
from agentos.schemas.queue import (
    AgentDepth,
    QueueClearResult,
    QueuedWork,
    QueueRetryResult,
    QueueState,
    QueueStats,
    QueueStatus,
)
from agentos.services import config, dispatch, events, jobs
from agentos.services.context import Actor
from agentos.services.jobs import counts as job_counts
from agentos.services.jobs import rollups
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.jobs.sqlstats import seconds_between
from agentos.services.security import roles

PAUSED_KEY = "queue.paused"
STATS_WINDOW = timedelta(hours=24)


def is_paused(session: Session) -> bool:
    row = session.get(RuntimeSetting, PAUSED_KEY)
    return bool(row.value) if row is not None else False


def state(session: Session) -> QueueState:
    row = session.get(RuntimeSetting, PAUSED_KEY)
    if row is None:
        return QueueState(paused=False)
    return QueueState(paused=bool(row.value), changed_by=row.updated_by, changed_at=row.updated_at)


def _set_paused(session: Session, *, paused: bool, actor: Actor) -> QueueState:
    config.put(session, key=PAUSED_KEY, value=paused, actor=actor)
    events.announce(session, "queue.paused" if paused else "queue.resumed", by=actor.name)
    return state(session)


def pause(session: Session, *, actor: Actor) -> QueueState:
    """Stop dispatching queued work; running stages finish, new jobs are still queued."""
    return _set_paused(session, paused=True, actor=actor)


def resume(session: Session, *, actor: Actor) -> QueueState:
    result = _set_paused(session, paused=False, actor=actor)
    for agent in PIPELINE:
        dispatch.request_dispatch(session, agent=agent)
    return result


def clear(
    session: Session, *, actor: Actor, agent: str | None = None, dry_run: bool = False
) -> QueueClearResult:
    """Cancel every queued (not processing) job, optionally only those waiting at `agent`."""
    stmt = select(Job).where(Job.status == "queued")
    if agent is not None:
        stmt = stmt.where(Job.current_stage == agent)
    if dry_run:
        ids = list(session.scalars(stmt.with_only_columns(Job.id).order_by(Job.created_at)))
        return QueueClearResult(count=len(ids), job_ids=ids, dry_run=True)
    cleared = list(session.scalars(stmt.order_by(Job.created_at).with_for_update()))
    for job in cleared:
        jobs.cancel_job(session, job)
    session.flush()
    return QueueClearResult(count=len(cleared), job_ids=[job.id for job in cleared])


def retry_failed(
    session: Session, *, actor: Actor, since: datetime | None = None, dry_run: bool = False
) -> QueueRetryResult:
    """Queue every failed job (finished since `since`) again at the stage that failed."""
    stmt = select(Job).where(Job.status == "failed")
    if since is not None:
        stmt = stmt.where(Job.finished_at >= since)
    if dry_run:
        ids = list(session.scalars(stmt.with_only_columns(Job.id).order_by(Job.created_at)))
        return QueueRetryResult(count=len(ids), job_ids=ids, dry_run=True)
    failed = list(session.scalars(stmt.order_by(Job.created_at).with_for_update()))
    for job in failed:
        jobs.retry_job(session, job)
    session.flush()
    return QueueRetryResult(count=len(failed), job_ids=[job.id for job in failed])


def status(session: Session) -> QueueStatus:
    """Depth and oldest wait per agent, from one GROUP BY over the open steps."""
    now = utcnow()
    depth: dict[str, dict[str, Any]] = {
        name: {"queued": 0, "running": 0, "oldest": None} for name in PIPELINE
    }
    rows = session.execute(
        select(
            ProcessingStep.agent,
            ProcessingStep.status,
            func.count(),
            func.min(ProcessingStep.created_at),
        )
        .where(ProcessingStep.status.in_(("queued", "running")))
        .group_by(ProcessingStep.agent, ProcessingStep.status)
    )
    for agent, step_status, count, oldest in rows:
        entry = depth.setdefault(agent, {"queued": 0, "running": 0, "oldest": None})
        entry[step_status] = count
        if step_status == "queued":
            entry["oldest"] = oldest
    processing = session.scalar(
        select(func.count()).select_from(Job).where(Job.status == "processing")
    )
    agents = [
        AgentDepth(
            agent=name,
            queued=entry["queued"],
            running=entry["running"],
            oldest_wait_s=_age(now, entry["oldest"]),
        )
        for name, entry in depth.items()
    ]
    oldest_all = [a.oldest_wait_s for a in agents if a.oldest_wait_s is not None]
    return QueueStatus(
        paused=is_paused(session),
        queued=sum(a.queued for a in agents),
        processing=processing or 0,
        oldest_wait_s=max(oldest_all) if oldest_all else None,
        agents=agents,
    )


def _age(now: datetime, since: datetime | None) -> float | None:
    if since is None:
        return None
    if since.tzinfo is None:  # aggregates bypass the column type on SQLite
        since = datetime.fromisoformat(str(since)).replace(tzinfo=now.tzinfo)
    return max(0.0, (now - since).total_seconds())


# Dispatch order: running work first ("running" > "queued"), then priority, then the oldest.
_DISPATCH = (
    SortKey(ProcessingStep.status, "str", descending=True),
    SortKey(ProcessingStep.priority, "int", descending=True),
    SortKey(ProcessingStep.created_at, "datetime"),
    SortKey(ProcessingStep.id, "uuid"),
)


def details(
    session: Session, *, actor: Actor, page: PageParams, agent: str | None = None
) -> Page[QueuedWork]:
    """Open work (running, then queued in dispatch order), with the job it belongs to; a
    user sees the work of their own jobs only. `agent`: that agent's queued work only."""
    where: list[ColumnElement[bool]] = [ProcessingStep.status.in_(("queued", "running"))]
    keys: tuple[SortKey, ...] = _DISPATCH
    if agent is not None:
        where = [ProcessingStep.status == "queued", ProcessingStep.agent == agent]
        keys = _DISPATCH[1:]  # one status: the agent's queue index has no status column
    visible = jobs.visible_to(actor)
    if visible:  # "one of my jobs" as a set of ids: the page still walks the queue's index
        where.append(ProcessingStep.job_id.in_(select(Job.id).where(*visible)))
    stmt = (
        select(
            ProcessingStep.id,
            ProcessingStep.job_id,
            Job.title,
            Job.owner_id,
            ProcessingStep.agent,
            ProcessingStep.status,
            ProcessingStep.priority,
            ProcessingStep.attempt,
            ProcessingStep.created_at,
            ProcessingStep.started_at,
        )
        .join(Job, Job.id == ProcessingStep.job_id)
        .where(*where)
    )
    window = keyset.read(session, Keyset(keys, scope=f"queue:{agent or '*'}"), stmt, page)
    now = utcnow()
    data = [
        QueuedWork(
            step_id=row.id,
            job_id=row.job_id,
            title=row.title,
            owner_id=row.owner_id,
            agent=row.agent,
            status=row.status,
            priority=row.priority,
            attempt=row.attempt,
            queued_at=row.created_at,
            started_at=row.started_at,
            wait_s=max(0.0, ((row.started_at or now) - row.created_at).total_seconds()),
        )
        for row in window.rows
    ]
    total, counted_at = _open_total(session, actor=actor, agent=agent, where=where)
    return Page(data=data, pagination=window.pagination(total=total, total_counted_at=counted_at))


def _open_total(
    session: Session, *, actor: Actor, agent: str | None, where: list[ColumnElement[bool]]
) -> tuple[int, datetime | None]:
    """Staff: from the step rollups (exact); a user: a count of their own open work."""
    if roles.sees_all_jobs(actor.role):
        statuses = ("queued",) if agent is not None else ("queued", "running")
        by_agent = rollups.step_counts(session, statuses=statuses)
        wanted = [by_agent.get(agent, {})] if agent is not None else list(by_agent.values())
        return sum(sum(counts.values()) for counts in wanted), None
    counted = (
        select(func.count()).select_from(ProcessingStep).join(Job, Job.id == ProcessingStep.job_id)
    )
    key = f"queue:count:{actor.id}:{agent or '*'}"
    return job_counts.cached(session, key, lambda reader: reader.scalar(counted.where(*where)) or 0)


def stats(session: Session) -> QueueStats:
    """Throughput, mean wait and mean processing time over the last 24 hours."""
    since = utcnow() - STATS_WINDOW
    step_counts = dict(
        session.execute(
            select(ProcessingStep.status, func.count())
            .where(
                ProcessingStep.finished_at >= since,
                ProcessingStep.status.in_(("completed", "failed")),
            )
            .group_by(ProcessingStep.status)
        ).all()
    )
    job_counts = dict(
        session.execute(
            select(Job.status, func.count())
            .where(Job.finished_at >= since, Job.status.in_(JobStatus.OUTCOMES))
            .group_by(Job.status)
        ).all()
    )
    wait = seconds_between(session, ProcessingStep.created_at, ProcessingStep.started_at)
    mean_wait = session.scalar(select(func.avg(wait)).where(ProcessingStep.started_at >= since))
    mean_ms = session.scalar(
        select(func.avg(ProcessingStep.duration_ms)).where(
            ProcessingStep.finished_at >= since, ProcessingStep.duration_ms.is_not(None)
        )
    )
    hours = STATS_WINDOW.total_seconds() / 3600
    return QueueStats(
        window_hours=int(hours),
        steps_completed=step_counts.get("completed", 0),
        steps_failed=step_counts.get("failed", 0),
        jobs_completed=job_counts.get("completed", 0),
        jobs_failed=job_counts.get("failed", 0),
        throughput_per_hour=job_counts.get("completed", 0) / hours,
        mean_wait_s=float(mean_wait) if mean_wait is not None else None,
        mean_processing_s=float(mean_ms) / 1000 if mean_ms is not None else None,
    )
