"""What agents did: performance, health, their own records and queues."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from agentos.db import keyset
from agentos.db.base import utcnow
from agentos.db.keyset import Keyset, SortKey
from agentos.db.models import Agent, Job, ProcessingStep, SystemEvent
from agentos.db.models.listing import STEP_LOG_AT
from agentos.schemas.agents import (
    AgentHealth,
    AgentLogEntry,
    AgentPerformance,
    AgentsHealth,
    AgentStatus,
)
from agentos.schemas.common import Page, PageParams
from agentos.schemas.queue import QueueClearResult, QueuedWork
from agentos.services import jobs
from agentos.services import queue as queue_service
from agentos.services.agents.status import list_status, load_row
from agentos.services.context import Actor
from agentos.services.jobs import counts as job_counts
from agentos.services.jobs import rollups
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.jobs.sqlstats import percentile_by_group
from agentos.services.runtime import settings_of
from agentos.services.security import roles


def performance(session: Session, *, since: datetime) -> list[AgentPerformance]:
    """Per agent, over steps finished since `since`: throughput, mean/p95 time, error rate."""
    ensure_default_agents(session)
    finished = [
        ProcessingStep.finished_at >= since,
        ProcessingStep.status.in_(("completed", "failed")),
    ]
    counts: dict[tuple[str, str], int] = {}
    means: dict[str, float] = {}
    for agent, status, count, mean in session.execute(
        select(
            ProcessingStep.agent,
            ProcessingStep.status,
            func.count(),
            func.avg(ProcessingStep.duration_ms),
        )
        .where(*finished)
        .group_by(ProcessingStep.agent, ProcessingStep.status)
    ):
        counts[(agent, status)] = count
        if status == "completed" and mean is not None:
            means[agent] = float(mean)
    p95 = percentile_by_group(
        session,
        value=ProcessingStep.duration_ms,
        where=[*finished[:1], ProcessingStep.status == "completed"],
        fraction=0.95,
        group=ProcessingStep.agent,
    )
    hours = max((utcnow() - since).total_seconds() / 3600, 1 / 3600)
    result = []
    for name in session.scalars(select(Agent.name).order_by(Agent.stage_order)):
        done, failed = counts.get((name, "completed"), 0), counts.get((name, "failed"), 0)
        result.append(
            AgentPerformance(
                agent=name,
                completed=done,
                failed=failed,
                throughput_per_hour=done / hours,
                mean_ms=means.get(name),
                p95_ms=p95.get(name),
                error_rate=failed / (done + failed) if done + failed else None,
            )
        )
    return result


def health(session: Session) -> AgentsHealth:
    """Per agent: switched on, stalled steps (no heartbeat for stall_after_s), last error."""
    stall_after = settings_of(session).stall_after_s
    cutoff = utcnow() - timedelta(seconds=stall_after)
    statuses = list_status(session)
    stalled = dict(
        session.execute(
            select(ProcessingStep.agent, func.count())
            .where(
                ProcessingStep.status == "running",
                func.coalesce(ProcessingStep.heartbeat_at, ProcessingStep.started_at) < cutoff,
            )
            .group_by(ProcessingStep.agent)
        ).all()
    )
    agents = [_health_of(session, status, stalled.get(status.name, 0)) for status in statuses]
    degraded = any(agent.status != "healthy" for agent in agents)
    return AgentsHealth(
        status="degraded" if degraded else "healthy", stall_after_s=stall_after, agents=agents
    )


def _health_of(session: Session, status: AgentStatus, stalled: int) -> AgentHealth:
    last = session.execute(
        select(ProcessingStep.error, ProcessingStep.finished_at)
        .where(ProcessingStep.agent == status.name, ProcessingStep.status == "failed")
        .order_by(ProcessingStep.finished_at.desc())
        .limit(1)
    ).first()
    state = "stalled" if stalled else ("healthy" if status.enabled else "stopped")
    return AgentHealth(
        agent=status.name,
        status=state,
        enabled=status.enabled,
        running=status.running,
        stalled_steps=stalled,
        queue_depth=status.queue_depth,
        last_error=last.error if last else None,
        last_error_at=last.finished_at if last else None,
    )


def logs(session: Session, *, agent: str, actor: Actor, page: PageParams) -> Page[AgentLogEntry]:
    """The agent's own records, newest first: its processing steps and its system events (a
    user sees only those of their own jobs)."""
    name = load_row(session, agent).name
    visible = jobs.visible_to(actor)
    own_jobs = select(Job.id).where(*visible)
    step_where = [ProcessingStep.agent == name]
    event_where = [SystemEvent.source == name]
    if visible:
        step_where.append(ProcessingStep.job_id.in_(own_jobs))
        event_where.append(SystemEvent.job_id.in_(own_jobs))
    steps = select(
        STEP_LOG_AT.label("at"),
        literal("step").label("kind"),
        ProcessingStep.status.label("level"),
        ProcessingStep.error.label("text"),
        ProcessingStep.job_id.label("job_id"),
        ProcessingStep.id.label("ref_id"),
        ProcessingStep.attempt.label("attempt"),
        ProcessingStep.duration_ms.label("duration_ms"),
    ).where(*step_where)
    evts = select(
        SystemEvent.created_at.label("at"),
        literal("event").label("kind"),
        SystemEvent.severity.label("level"),
        SystemEvent.message.label("text"),
        SystemEvent.job_id.label("job_id"),
        SystemEvent.id.label("ref_id"),
        cast(None, Integer).label("attempt"),  # typed as the steps' columns, for the UNION
        cast(None, Float).label("duration_ms"),
    ).where(*event_where)
    # Each half is read from its own index (the steps' by agent and log time, the events'
    # by source and time) from the cursor on, and the two merged; their UNION serves only
    # pages asked by number.
    merged = union_all(steps, evts).subquery()
    scope = f"agent-logs:{name}"

    def newest_first(at: Any, ref_id: Any) -> Keyset:
        return Keyset((SortKey(at, "datetime", True), SortKey(ref_id, "uuid", True)), scope=scope)

    window = keyset.read(
        session,
        newest_first(merged.c.at, merged.c.ref_id),
        select(merged),
        page,
        parts=[
            (newest_first(STEP_LOG_AT, ProcessingStep.id), steps),
            (newest_first(SystemEvent.created_at, SystemEvent.id), evts),
        ],
    )
    total, counted_at = _logs_total(
        session, name=name, actor=actor, step_where=step_where, event_where=event_where
    )
    return Page(
        data=[_log_entry(name, row._mapping) for row in window.rows],
        pagination=window.pagination(total=total, total_counted_at=counted_at),
    )


def _logs_total(
    session: Session,
    *,
    name: str,
    actor: Actor,
    step_where: list[ColumnElement[bool]],
    event_where: list[ColumnElement[bool]],
) -> tuple[int, datetime | None]:
    """Staff: the agent's steps from the step rollups (exact) plus its events; a user: both
    counted over their own jobs. Counts are reused for a moment (`jobs.counts.cached`)."""
    staff = roles.sees_all_jobs(actor.role)
    scope = "all" if staff else str(actor.id)

    def count(
        table: type[ProcessingStep] | type[SystemEvent], where: list[Any]
    ) -> job_counts.Counter:
        return lambda reader: (
            reader.scalar(select(func.count()).select_from(table).where(*where)) or 0
        )

    events, counted_at = job_counts.cached(
        session, f"agent-logs:events:{name}:{scope}", count(SystemEvent, event_where)
    )
    if staff:
        return rollups.step_total(session, agent=name) + events, counted_at
    steps, steps_at = job_counts.cached(
        session, f"agent-logs:steps:{name}:{scope}", count(ProcessingStep, step_where)
    )
    return steps + events, min(filter(None, (counted_at, steps_at)), default=None)


def _log_entry(agent: str, row: Any) -> AgentLogEntry:
    if row["kind"] == "step":
        took = f" in {row['duration_ms'] / 1000:.2f}s" if row["duration_ms"] is not None else ""
        message = f"{agent} step (attempt {row['attempt']}) {row['level']}{took}"
        if row["text"]:
            message += f": {row['text']}"
        level = {"failed": "error", "cancelled": "warning"}.get(row["level"], "info")
    else:
        message, level = row["text"], row["level"]
    at = row["at"]
    if isinstance(at, str):  # a UNION loses the column type on SQLite
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return AgentLogEntry(
        at=at,
        kind=row["kind"],
        level=level,
        message=message,
        job_id=row["job_id"],
        ref_id=_uuid(row["ref_id"]),
    )


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def queue(session: Session, *, agent: str, actor: Actor, page: PageParams) -> Page[QueuedWork]:
    """The agent's queued steps in dispatch order, with their jobs (a user's own only)."""
    name = load_row(session, agent).name
    return queue_service.details(session, actor=actor, page=page, agent=name)


def clear_queue(
    session: Session, *, agent: str, actor: Actor, dry_run: bool = False
) -> QueueClearResult:
    """The agent's queued work is removed from its queue and those jobs are cancelled."""
    return queue_service.clear(
        session, actor=actor, agent=load_row(session, agent).name, dry_run=dry_run
    )
