"""The agent rows as operators see them: switch, concurrency, queue depth, running work."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentos.db.models import Agent, ProcessingStep, RuntimeSettingChange
from agentos.errors import NotFoundError
from agentos.schemas.agents import (
    AgentStatus,
)
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents


def claimable_agents(session: Session) -> set[str]:
    """Names of the agents whose queued work may be claimed (enabled ones)."""
    return set(session.scalars(select(Agent.name).where(Agent.enabled.is_(True))))


def load_row(session: Session, agent: str, *, lock: bool = False) -> Agent:
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


def statuses(session: Session, rows: list[Agent]) -> list[AgentStatus]:
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
    return statuses(session, list(session.scalars(select(Agent).order_by(Agent.stage_order))))


def require(session: Session, *, agent: str) -> AgentStatus:
    """One agent by name or UUID id."""
    return statuses(session, [load_row(session, agent)])[0]


def record_change(session: Session, key: str, old: Any, new: Any, actor: Actor) -> None:
    session.add(RuntimeSettingChange(key=key, old_value=old, new_value=new, changed_by=actor.name))
    session.flush()
