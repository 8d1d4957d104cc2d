"""The SSOT sections, each computed with indexed aggregate queries (no row lists in Python).

Every function takes its own session (sections run in parallel, one session each) and the
build's `now`, so all sections of one document agree on the time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentos.db.models import Agent, Job, ProcessingStep, RuntimeSetting, SystemEvent
from agentos.schemas.admin import (
    JOB_STATUSES,
    AgentStatus,
    AnalyticsBucket,
    AnalyticsSection,
    CurrentWork,
    FailedJob,
    LogEntry,
    LogsSection,
    QueueAgent,
    QueueSection,
)
from agentos.schemas.jobs import JobStatus
from agentos.services.jobs import rollups

ANALYTICS_HOURS = 24
RECENT_EVENTS = 50
RECENT_ERRORS = 20
CURRENT_WORK_PER_AGENT = 10
ERROR_SEVERITIES = ("error", "critical")
STEP_WAITING = "queued"
STEP_RUNNING = "running"
QUEUE_PAUSED_KEY = "queue.paused"


# --- dashboard -----------------------------------------------------------------------------


def job_status_counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys(JOB_STATUSES, 0)
    counts.update(rollups.status_counts(session))
    return counts


def _finished_between(
    session: Session, statuses: tuple[str, ...], start: datetime, end: datetime
) -> dict[str, int]:
    """Jobs per status finished in [start, end): the part of an hour the rollup cannot split."""
    if end <= start:
        return {}
    rows = session.execute(
        select(Job.status, func.count())
        .where(Job.status.in_(statuses), Job.finished_at >= start, Job.finished_at < end)
        .group_by(Job.status)
    )
    return {status: int(count) for status, count in rows}


def recent_outcomes(session: Session, *, now: datetime) -> dict[str, int]:
    """Completed/failed today, in the last hour and in the last 24 h.

    Whole hours come from the rollup; the rolling windows' first, partial hour is counted
    on jobs through the (status, finished_at) index: at most an hour of rows.
    """
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    current = now.replace(minute=0, second=0, microsecond=0)
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(hours=24)
    day_edge = day_ago.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours = rollups.hourly(session, basis="finished", since=min(today, day_edge))

    def whole(status: str, since: datetime) -> int:
        return sum(counts.get(status, 0) for hour, counts in hours.items() if hour >= since)

    last_hour = _finished_between(session, ("completed",), hour_ago, current)
    last_day = _finished_between(session, JobStatus.OUTCOMES, day_ago, day_edge)
    return {
        "completed_today": whole("completed", today),
        "failed_today": whole("failed", today),
        "completed_last_hour": whole("completed", current) + last_hour.get("completed", 0),
        "completed_24h": whole("completed", day_edge) + last_day.get("completed", 0),
        "failed_24h": whole("failed", day_edge) + last_day.get("failed", 0),
    }


def totals(session: Session) -> dict[str, int]:
    unacknowledged = session.scalar(
        select(func.count())
        .select_from(SystemEvent)
        .where(SystemEvent.severity.in_(ERROR_SEVERITIES), SystemEvent.acknowledged_at.is_(None))
    )
    return {
        "total_clips": rollups.clip_count(session),
        "unacknowledged_errors": int(unacknowledged or 0),
    }


def queue_paused(session: Session) -> bool:
    value = session.scalar(
        select(RuntimeSetting.value).where(RuntimeSetting.key == QUEUE_PAUSED_KEY)
    )
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


# --- agents and workers --------------------------------------------------------------------


StepSummary = dict[str, tuple[int, int, Any]]


def step_summary(session: Session) -> StepSummary:
    """{agent: (waiting, running, oldest waiting created_at)}: counts from the step rollup,
    the oldest waiting step per agent off the partial (agent, created_at) index."""
    counts = rollups.step_counts(session, statuses=(STEP_WAITING, STEP_RUNNING))
    oldest = (
        select(func.min(ProcessingStep.created_at))
        .where(ProcessingStep.status == STEP_WAITING, ProcessingStep.agent == Agent.name)
        .correlate(Agent)
        .scalar_subquery()
    )
    summary: StepSummary = {}
    for agent, first in session.execute(select(Agent.name, oldest)):
        by_status = counts.pop(agent, {})
        summary[agent] = (by_status.get(STEP_WAITING, 0), by_status.get(STEP_RUNNING, 0), first)
    for agent, by_status in counts.items():  # steps of an agent row not visible yet
        summary[agent] = (by_status.get(STEP_WAITING, 0), by_status.get(STEP_RUNNING, 0), None)
    return summary


def _current_work(session: Session, agents: list[str]) -> dict[str, list[CurrentWork]]:
    # Per agent, the longest-running steps straight off the partial (agent, started_at)
    # index; a pile-up of abandoned steps costs nothing beyond the first few entries.
    work: dict[str, list[CurrentWork]] = {}
    for agent in agents:
        rows = session.execute(
            select(
                ProcessingStep.id,
                ProcessingStep.job_id,
                ProcessingStep.worker_id,
                ProcessingStep.started_at,
                ProcessingStep.progress,
            )
            .where(ProcessingStep.status == STEP_RUNNING, ProcessingStep.agent == agent)
            .order_by(ProcessingStep.started_at)
            .limit(CURRENT_WORK_PER_AGENT)
        )
        work[agent] = [
            CurrentWork(
                step_id=step_id,
                job_id=job_id,
                worker_id=worker_id,
                started_at=started_at,
                progress=progress,
            )
            for step_id, job_id, worker_id, started_at, progress in rows
        ]
    return work


def agent_statuses(session: Session) -> list[AgentStatus]:
    summary = step_summary(session)
    agents = session.execute(
        select(Agent.name, Agent.stage_order, Agent.enabled, Agent.concurrency).order_by(
            Agent.stage_order, Agent.name
        )
    ).all()
    busy = [name for name, *_ in agents if summary.get(name, (0, 0, None))[1]]
    work = _current_work(session, busy)
    result = []
    for name, order, enabled, concurrency in agents:
        waiting, running, _ = summary.get(name, (0, 0, None))
        state = "disabled" if not enabled else ("busy" if running else "idle")
        result.append(
            AgentStatus(
                name=name,
                stage_order=order,
                enabled=enabled,
                state=state,
                concurrency=concurrency,
                queue_depth=waiting,
                running=running,
                current_work=work.get(name, []),
            )
        )
    return result


def analytics(session: Session, *, now: datetime, hours: int = ANALYTICS_HOURS) -> AnalyticsSection:
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    created = rollups.hourly(session, basis="created", since=first)
    finished = rollups.hourly(session, basis="finished", since=first)
    buckets = {
        first + timedelta(hours=index): {"created": 0, "completed": 0, "failed": 0}
        for index in range(hours)
    }
    for hour in sorted(set(created) | set(finished)):
        bucket = buckets.setdefault(hour, {"created": 0, "completed": 0, "failed": 0})
        bucket["created"] += sum(created.get(hour, {}).values())
        for status in JobStatus.OUTCOMES:
            bucket[status] += finished.get(hour, {}).get(status, 0)
    ordered = [AnalyticsBucket(hour=hour, **values) for hour, values in sorted(buckets.items())]
    return AnalyticsSection(
        hours=hours,
        buckets=ordered,
        created=sum(bucket.created for bucket in ordered),
        completed=sum(bucket.completed for bucket in ordered),
        failed=sum(bucket.failed for bucket in ordered),
    )


# --- queue ---------------------------------------------------------------------------------


def queue(
    session: Session, *, now: datetime, job_counts: dict[str, int] | None = None
) -> QueueSection:
    per_agent = step_summary(session)
    agents = session.execute(select(Agent.name, Agent.enabled).order_by(Agent.stage_order))
    entries = []
    for name, enabled in agents:
        depth, running, oldest = per_agent.get(name, (0, 0, None))
        waited = _age(now, oldest)
        entries.append(
            QueueAgent(
                agent=name, enabled=enabled, depth=depth, running=running, oldest_waiting_s=waited
            )
        )
    active = _active_job_counts(session)
    waits = [entry.oldest_waiting_s for entry in entries if entry.oldest_waiting_s is not None]
    return QueueSection(
        paused=queue_paused(session),
        pending_jobs=active["pending"],
        queued_jobs=active["queued"],
        processing_jobs=active["processing"],
        total_depth=sum(entry.depth for entry in entries),
        oldest_waiting_s=max(waits) if waits else None,
        agents=entries,
    )


def _active_job_counts(session: Session) -> dict[str, int]:
    counts = rollups.status_counts(session)
    return {status: counts.get(status, 0) for status in sorted(JobStatus.UNFINISHED)}


def _age(now: datetime, then: Any) -> float | None:
    if then is None:
        return None
    if isinstance(then, str):
        then = datetime.fromisoformat(then)
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return round(max(0.0, (now - then).total_seconds()), 3)


# --- logs ----------------------------------------------------------------------------------


def _log_entry(event: SystemEvent) -> LogEntry:
    return LogEntry(
        id=event.id,
        created_at=event.created_at,
        severity=event.severity,
        source=event.source,
        kind=event.kind,
        message=event.message,
        job_id=event.job_id,
        acknowledged=event.acknowledged_at is not None,
    )


def logs(session: Session) -> LogsSection:
    recent = session.scalars(
        select(SystemEvent).order_by(SystemEvent.created_at.desc()).limit(RECENT_EVENTS)
    ).all()
    errors = session.scalars(
        select(SystemEvent)
        .where(SystemEvent.severity.in_(ERROR_SEVERITIES))
        .order_by(SystemEvent.created_at.desc())
        .limit(RECENT_ERRORS)
    ).all()
    failed = session.execute(
        select(Job.id, Job.title, Job.error, Job.error_code, Job.finished_at)
        .where(Job.status == "failed")
        .order_by(Job.updated_at.desc())
        .limit(RECENT_ERRORS)
    )
    return LogsSection(
        recent_events=[_log_entry(event) for event in recent],
        recent_errors=[_log_entry(event) for event in errors],
        failed_jobs=[
            FailedJob(id=id_, title=title, error=error, error_code=code, finished_at=finished)
            for id_, title, error, code, finished in failed
        ],
    )
