"""Agent endpoints (seed: Agents, 12). `{agent_id}` is an agent name or its UUID."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from agentos.db.base import utcnow
from agentos.schemas.agents import (
    AgentConfigRead,
    AgentConfigUpdate,
    AgentLogEntry,
    AgentPerformance,
    AgentRef,
    AgentsHealth,
    AgentStatus,
)
from agentos.schemas.common import PageEnvelope, PageParams, SuccessEnvelope
from agentos.schemas.queue import QueueClearResult, QueuedWork
from agentos.server.deps import CurrentActorDep, SessionDep
from agentos.server.errors import ERROR_RESPONSES
from agentos.server.responses import ok, paged
from agentos.services import agents

router = APIRouter(prefix="/api/agents", tags=["Agents"], responses=ERROR_RESPONSES)
Paging = Annotated[PageParams, Depends()]
AgentId = Annotated[str, Path(max_length=64, description="Agent name or id", examples=["scenes"])]


@router.get(
    "/status",
    summary="Every agent: switch, concurrency, queue depth, running",
    response_model=SuccessEnvelope[list[AgentStatus]],
)
def agents_status(request: Request, session: SessionDep, _: CurrentActorDep) -> dict[str, Any]:
    return ok(request, agents.list_status(session))


@router.get(
    "/performance",
    summary="Per agent throughput, mean/p95 step time, error rate",
    response_model=SuccessEnvelope[list[AgentPerformance]],
)
def agents_performance(
    request: Request,
    session: SessionDep,
    _: CurrentActorDep,
    hours: Annotated[float, Query(gt=0, le=24 * 90, description="Window, hours")] = 24,
) -> dict[str, Any]:
    since = utcnow() - timedelta(hours=hours)
    return ok(request, agents.performance(session, since=since))


@router.get(
    "/health",
    summary="Agent system status: stopped, stalled, last error",
    response_model=SuccessEnvelope[AgentsHealth],
)
def agents_health(request: Request, session: SessionDep, _: CurrentActorDep) -> dict[str, Any]:
    return ok(request, agents.health(session))


@router.post(
    "/restart",
    summary="Restart every agent (all switched on, pools rebuilt)",
    response_model=SuccessEnvelope[list[AgentStatus]],
)
def restart_agents(request: Request, session: SessionDep, actor: CurrentActorDep) -> dict[str, Any]:
    return ok(request, agents.restart_all(session, actor=actor))


@router.get(
    "/logs/{agent_id}",
    summary="The agent's own records: its steps and events",
    response_model=PageEnvelope[AgentLogEntry],
)
def agent_logs(
    request: Request, agent_id: AgentId, session: SessionDep, _: CurrentActorDep, page: Paging
) -> dict[str, Any]:
    return paged(request, agents.logs(session, agent=agent_id, page=page))


@router.get(
    "/config",
    summary="Agent configuration (one agent with ?agent=, else all)",
    response_model=SuccessEnvelope[list[AgentConfigRead]],
)
def agent_config(
    request: Request,
    session: SessionDep,
    _: CurrentActorDep,
    agent: Annotated[str | None, Query(max_length=64, examples=["clipper"])] = None,
) -> dict[str, Any]:
    return ok(request, agents.get_config(session, agent=agent))


@router.post(
    "/config",
    summary="Update an agent's configuration (validated, merged)",
    response_model=SuccessEnvelope[AgentConfigRead],
)
def update_agent_config(
    request: Request, body: AgentConfigUpdate, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    result = agents.update_config(session, agent=body.agent, config=body.config, actor=actor)
    return ok(request, result)


@router.get(
    "/queue/{agent_id}",
    summary="The agent's queued work in dispatch order",
    response_model=PageEnvelope[QueuedWork],
)
def agent_queue(
    request: Request, agent_id: AgentId, session: SessionDep, _: CurrentActorDep, page: Paging
) -> dict[str, Any]:
    return paged(request, agents.queue(session, agent=agent_id, page=page))


@router.post(
    "/clear-queue",
    summary="Remove an agent's queued work and cancel those jobs",
    response_model=SuccessEnvelope[QueueClearResult],
)
def clear_agent_queue(
    request: Request, body: AgentRef, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    result = agents.clear_queue(session, agent=body.agent, actor=actor, dry_run=body.dry_run)
    return ok(request, result)


@router.get("/{agent_id}", summary="One agent", response_model=SuccessEnvelope[AgentStatus])
def get_agent(
    request: Request, agent_id: AgentId, session: SessionDep, _: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, agents.require(session, agent=agent_id))


@router.post(
    "/{agent_id}/start",
    summary="Start an agent: it takes queued work again",
    response_model=SuccessEnvelope[AgentStatus],
)
def start_agent(
    request: Request, agent_id: AgentId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, agents.start(session, agent=agent_id, actor=actor))


@router.post(
    "/{agent_id}/stop",
    summary="Stop an agent: its queued work waits",
    response_model=SuccessEnvelope[AgentStatus],
)
def stop_agent(
    request: Request, agent_id: AgentId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, agents.stop(session, agent=agent_id, actor=actor))
