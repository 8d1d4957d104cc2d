"""Agent configuration: validated against the agent's own model, merged, with history."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import Agent
from agentos.errors import InvalidError
from agentos.schemas.agents import (
    CONFIG_MODELS,
    AgentConfigRead,
)
from agentos.services import events
from agentos.services.agents.status import load_row, record_change
from agentos.services.context import Actor
from agentos.services.jobs.catalog import default_config, ensure_default_agents


def get_config(session: Session, *, agent: str | None = None) -> list[AgentConfigRead]:
    """The configuration of one agent, or of all of them in pipeline order."""
    ensure_default_agents(session)
    if agent is not None:
        rows = [load_row(session, agent)]
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
    row = load_row(session, agent, lock=True)
    return _store_config(
        session, row, validate_config(row.name, {**(row.config or {}), **config}), actor
    )


def reset_config(session: Session, *, agent: str, actor: Actor) -> AgentConfigRead:
    row = load_row(session, agent, lock=True)
    return _store_config(session, row, validate_config(row.name, default_config(row.name)), actor)


def _store_config(
    session: Session, row: Agent, config: dict[str, Any], actor: Actor
) -> AgentConfigRead:
    old = dict(row.config or {})
    row.config = config
    record_change(session, f"agent.{row.name}.config", old, config, actor)
    events.announce(session, "agent.config", agent=row.name, config=config)
    return AgentConfigRead(agent=row.name, config=config, defaults=default_config(row.name))
