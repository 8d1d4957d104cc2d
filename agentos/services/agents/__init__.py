"""Agents: the pipeline stages as rows the runner obeys, their switches, config and figures.

`enabled` is the switch: a stopped agent's queued steps stay queued and are not claimed
(`claimable_agents`); starting it wakes dispatch. Configuration is validated against the
agent's own model (unknown keys rejected) and every change leaves a history row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Agent, ProcessingStep, RuntimeSettingChange, SystemEvent
from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.agents import (
    CONCURRENCY_MAX,
    CONCURRENCY_MIN,
    CONFIG_MODELS,
    AgentConfigRead,
    AgentHealth,
    AgentLogEntry,
    AgentPerformance,
    AgentsHealth,
    AgentStatus,
)
from agentos.schemas.common import Page, PageParams, Pagination
from agentos.schemas.queue import QueueClearResult, QueuedWork
from agentos.services import dispatch, events, jobs
from agentos.services import queue as queue_service
from agentos.services.context import Actor
from agentos.services.jobs.catalog import default_config, ensure_default_agents
from agentos.services.jobs.sqlstats import percentile_by_group
from agentos.services.runtime import settings_of


def claimable_agents(session: Session) -> set[str]:
    """Names of the agents whose queued work may be claimed (enabled ones)."""
    return set(session.scalars(select(Agent.name).where(Agent.enabled.is_(True))))


def _load(session: Session, agent: str, *, lock: bool = False) -> Agent:
    ensure_default_agents(session)
    try:
        where = Agent.id == uuid.UUID(agent)
    except ValueError:
        where = Agent.name == agent.strip().lower()
    stmt = select(Agent).where(where)
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFoundError(f"agent {agent!r} not found", code="AGENT_NOT_FOUND")
    return row


def _open_counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(ProcessingStep.agent, ProcessingStep.status, func.count())
        .where(ProcessingStep.status.in_(("queued", "running")))
        .group_by(ProcessingStep.agent, ProcessingStep.status)
    )
    return {(agent, status): count for agent, status, count in rows}


def _statuses(session: Session, rows: list[Agent]) -> list[AgentStatus]:
    counts = _open_counts(session)
    activity = dict(
        session.execute(
            select(
                ProcessingStep.agent,
                func.max(func.coalesce(ProcessingStep.finished_at, ProcessingStep.heartbeat_at)),
            )
            .where(ProcessingStep.agent.in_([row.name for row in rows]))
            .group_by(ProcessingStep.agent)
        ).all()
    )
    return [
        AgentStatus(
            id=row.id,
            name=row.name,
            stage_order=row.stage_order,
            description=row.description,
            enabled=row.enabled,
            concurrency=row.concurrency,
            config=dict(row.config or {}),
            queue_depth=counts.get((row.name, "queued"), 0),
            running=counts.get((row.name, "running"), 0),
            last_activity=activity.get(row.name),
        )
        for row in rows
    ]


def list_status(session: Session) -> list[AgentStatus]:
    ensure_default_agents(session)
    return _statuses(session, list(session.scalars(select(Agent).order_by(Agent.stage_order))))


def require(session: Session, *, agent: str) -> AgentStatus:
    """One agent by name or UUID id."""
    return _statuses(session, [_load(session, agent)])[0]


def _switch(session: Session, *, agent: str, actor: Actor, enabled: bool) -> AgentStatus:
    row = _load(session, agent, lock=True)
    changed = row.enabled != enabled
    row.enabled = enabled
    session.flush()
    if changed:
        verb = "started" if enabled else "stopped"
        events.emit(
            session,
            severity="info",
            source=row.name,
            kind=f"agent.{verb}",
            message=f"agent {row.name} {verb} by {actor.name}",
        )
    events.announce(session, "agent.state", agent=row.name, enabled=enabled)
    if enabled:
        dispatch.request_dispatch(session, agent=row.name)
    return require(session, agent=row.name)


def start(session: Session, *, agent: str, actor: Actor) -> AgentStatus:
    return _switch(session, agent=agent, actor=actor, enabled=True)


def stop(session: Session, *, agent: str, actor: Actor) -> AgentStatus:
    """The agent stops taking work; its queued steps wait, running stages finish."""
    return _switch(session, agent=agent, actor=actor, enabled=False)


def _requeue_running(session: Session, agent: str, actor: Actor) -> int:
    """Put the agent's running steps back in its queue (same row, same attempt).

    The worker running one notices at its next check that it no longer owns the step and
    stops without recording anything (every write is guarded by `worker_id = me`), the
    same path as a step reclaimed from a lost worker; a new claim then runs it again.
    """
    running = session.scalars(
        select(ProcessingStep)
        .where(ProcessingStep.agent == agent, ProcessingStep.status == "running")
        .with_for_update()
    ).all()
    for step in running:
        jobs.requeue_step(session, step=step, reason=f"agent {agent} restarted by {actor.name}")
    return len(running)


def restart(session: Session, *, agent: str, actor: Actor) -> AgentStatus:
    """Stop then start: running stages go back to the queue, the agent consumes again."""
    row = _load(session, agent, lock=True)
    requeued = _requeue_running(session, row.name, actor)
    row.enabled = True
    session.flush()
    events.emit(
        session,
        severity="info",
        source=row.name,
        kind="agent.restart",
        message=f"agent {row.name} restarted by {actor.name} ({requeued} running re-queued)",
        details={"requeued": requeued},
    )
    events.announce(session, "agent.restart", agents=[row.name])
    events.announce(session, "agent.state", agent=row.name, enabled=True)
    dispatch.request_dispatch(session, agent=row.name)
    return require(session, agent=row.name)


def restart_all(session: Session, *, actor: Actor) -> list[AgentStatus]:
    """Every agent restarted: enabled again, its running stages re-queued."""
    ensure_default_agents(session)
    rows = list(session.scalars(select(Agent).order_by(Agent.stage_order).with_for_update()))
    for row in rows:
        _requeue_running(session, row.name, actor)
        row.enabled = True
        dispatch.request_dispatch(session, agent=row.name)
    session.flush()
    events.emit(
        session,
        severity="info",
        source="agents",
        kind="agent.restart",
        message=f"all agents restarted by {actor.name}",
    )
    events.announce(session, "agent.restart", agents=[row.name for row in rows])
    return _statuses(session, rows)


def set_concurrency(session: Session, *, agent: str, concurrency: int, actor: Actor) -> AgentStatus:
    if not CONCURRENCY_MIN <= concurrency <= CONCURRENCY_MAX:
        raise InvalidError(
            f"concurrency must be between {CONCURRENCY_MIN} and {CONCURRENCY_MAX}",
            code="INVALID_CONCURRENCY",
        )
    row = _load(session, agent, lock=True)
    old = row.concurrency
    row.concurrency = concurrency
    _history(session, f"agent.{row.name}.concurrency", old, concurrency, actor)
    events.announce(session, "agent.state", agent=row.name, concurrency=concurrency)
    dispatch.request_dispatch(session, agent=row.name)
    return require(session, agent=row.name)


def _history(session: Session, key: str, old: Any, new: Any, actor: Actor) -> None:
    session.add(RuntimeSettingChange(key=key, old_value=old, new_value=new, changed_by=actor.name))
    session.flush()


def get_config(session: Session, *, agent: str | None = None) -> list[AgentConfigRead]:
    """The configuration of one agent, or of all of them in pipeline order."""
    ensure_default_agents(session)
    if agent is not None:
        rows = [_load(session, agent)]
    else:
        rows = list(session.scalars(select(Agent).order_by(Agent.stage_order)))
    return [
        AgentConfigRead(
            agent=row.name, config=dict(row.config or {}), defaults=default_config(row.name)
        )
        for row in rows
    ]


def validate_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    model: type[BaseModel] = CONFIG_MODELS[name]
    try:
        return model.model_validate(config).model_dump()
    except ValidationError as error:
        fields = [
            {"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]}
            for item in error.errors(include_url=False)
        ]
        first = fields[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise InvalidError(
            f"invalid {name} config: {where}: {first['msg']}",
            code="INVALID_AGENT_CONFIG",
            details={"errors": fields},
        ) from error


def update_config(
    session: Session, *, agent: str, config: dict[str, Any], actor: Actor
) -> AgentConfigRead:
    """Merge `config` into the agent's settings; the result must validate as a whole."""
    row = _load(session, agent, lock=True)
    return _store_config(
        session, row, validate_config(row.name, {**(row.config or {}), **config}), actor
    )


def reset_config(session: Session, *, agent: str, actor: Actor) -> AgentConfigRead:
    row = _load(session, agent, lock=True)
    return _store_config(session, row, validate_config(row.name, default_config(row.name)), actor)


def _store_config(
    session: Session, row: Agent, config: dict[str, Any], actor: Actor
) -> AgentConfigRead:
    old = dict(row.config or {})
    row.config = config
    _history(session, f"agent.{row.name}.config", old, config, actor)
    events.announce(session, "agent.config", agent=row.name, config=config)
    return AgentConfigRead(agent=row.name, config=config, defaults=default_config(row.name))


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


def logs(session: Session, *, agent: str, page: PageParams) -> Page[AgentLogEntry]:
    """The agent's own records, newest first: its processing steps and its system events."""
    name = _load(session, agent).name
    step_at = func.coalesce(
        ProcessingStep.finished_at, ProcessingStep.started_at, ProcessingStep.created_at
    )
    steps = select(
        step_at.label("at"),
        literal("step").label("kind"),
        ProcessingStep.status.label("level"),
        ProcessingStep.error.label("text"),
        ProcessingStep.job_id.label("job_id"),
        ProcessingStep.id.label("ref_id"),
        ProcessingStep.attempt.label("attempt"),
        ProcessingStep.duration_ms.label("duration_ms"),
    ).where(ProcessingStep.agent == name)
    evts = select(
        SystemEvent.created_at,
        literal("event"),
        SystemEvent.severity,
        SystemEvent.message,
        SystemEvent.job_id,
        SystemEvent.id,
        literal(None),
        literal(None),
    ).where(SystemEvent.source == name)
    merged = union_all(steps, evts).subquery()
    total = (
        session.scalar(
            select(func.count()).select_from(ProcessingStep).where(ProcessingStep.agent == name)
        )
        or 0
    ) + (
        session.scalar(
            select(func.count()).select_from(SystemEvent).where(SystemEvent.source == name)
        )
        or 0
    )
    rows = session.execute(
        select(merged)
        .order_by(merged.c.at.desc(), merged.c.ref_id)
        .offset(page.offset)
        .limit(page.per_page)
    )
    data = [_log_entry(name, row._mapping) for row in rows]
    return Page(
        data=data, pagination=Pagination.of(page=page.page, per_page=page.per_page, total=total)
    )


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


def queue(session: Session, *, agent: str, page: PageParams) -> Page[QueuedWork]:
    """The agent's queued steps in dispatch order, with their jobs."""
    return queue_service.details(session, page=page, agent=_load(session, agent).name)


def clear_queue(
    session: Session, *, agent: str, actor: Actor, dry_run: bool = False
) -> QueueClearResult:
    """The agent's queued work is removed from its queue and those jobs are cancelled."""
    return queue_service.clear(
        session, actor=actor, agent=_load(session, agent).name, dry_run=dry_run
    )
