"""Starting, stopping and restarting agents, and their concurrency (runners follow the rows)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import Agent, ProcessingStep
from agentos.errors import InvalidError
from agentos.schemas.agents import (
    CONCURRENCY_MAX,
    CONCURRENCY_MIN,
    AgentStatus,
)
from agentos.services import dispatch, events, jobs
from agentos.services.agents.status import load_row, record_change, require, statuses
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents


def _switch(session: Session, *, agent: str, actor: Actor, enabled: bool) -> AgentStatus:
    row = load_row(session, agent, lock=True)
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
    row = load_row(session, agent, lock=True)
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
    return statuses(session, rows)


def set_concurrency(session: Session, *, agent: str, concurrency: int, actor: Actor) -> AgentStatus:
    if not CONCURRENCY_MIN <= concurrency <= CONCURRENCY_MAX:
        raise InvalidError(
            f"concurrency must be between {CONCURRENCY_MIN} and {CONCURRENCY_MAX}",
            code="INVALID_CONCURRENCY",
        )
    row = load_row(session, agent, lock=True)
    old = row.concurrency
    row.concurrency = concurrency
    record_change(session, f"agent.{row.name}.concurrency", old, concurrency, actor)
    events.announce(session, "agent.state", agent=row.name, concurrency=concurrency)
    dispatch.request_dispatch(session, agent=row.name)
    return require(session, agent=row.name)
