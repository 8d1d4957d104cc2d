"""Agent endpoints (seed: Agents, 12). `{agent_id}` is an agent name or its UUID."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

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
from agentos.schemas.common import PageEnvelope, SuccessEnvelope
from agentos.schemas.queue import QueueClearResult, QueuedWork
from agentos.server.deps import (
    CachedActorDep,
    CurrentActorDep,
    PagingDep,
    SessionDep,
    in_one_hop,
)
from agentos.server.responses import ok, paged
from agentos.server.routes._actions import AdminWriteDep
from agentos.server.routes._docs import BearerAuth, documented
from agentos.services import agents

router = APIRouter(prefix="/api/agents", tags=["Agents"], dependencies=[BearerAuth])
WRITERS = (
    "Runs the admin action named here: it needs that action's permission (admin, operator; "
    "else 403), is rate-limited, idempotent under Idempotency-Key and audited."
)

AgentId = Annotated[str, Path(max_length=64, description="Agent name or id", examples=["scenes"])]


@router.get(
    "/status",
    summary="Every agent: switch, concurrency, queue depth, running",
    description="The six pipeline agents in stage order.",
    response_model=SuccessEnvelope[list[AgentStatus]],
    responses=documented(AgentStatus, many=True),
)
def agents_status(request: Request, session: SessionDep, _: CurrentActorDep) -> dict[str, Any]:
    return ok(request, agents.list_status(session))


@router.get(
    "/performance",
    summary="Per agent throughput, mean/p95 step time, error rate",
    description="Computed from the processing steps finished within the last `hours`.",
    response_model=SuccessEnvelope[list[AgentPerformance]],
    responses=documented(AgentPerformance, 422, many=True),
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
    description="An agent is stalled when a running step has sent no heartbeat for "
    "`stall_after_s`; the system is degraded when any agent is stopped or stalled.",
    response_model=SuccessEnvelope[AgentsHealth],
    responses=documented(AgentsHealth),
)
def agents_health(request: Request, session: SessionDep, _: CurrentActorDep) -> dict[str, Any]:
    return ok(request, agents.health(session))


@router.post(
    "/restart",
    summary="Restart every agent (all switched on, pools rebuilt)",
    description=f"`agent.restart_all`. {WRITERS}",
    response_model=SuccessEnvelope[list[AgentStatus]],
    responses=documented(AgentStatus, 403, many=True),
)
def restart_agents(request: Request, write: AdminWriteDep) -> dict[str, Any]:
    return ok(request, write.run("agent.restart_all", {"confirm": True})["agents"])


@router.get(
    "/logs/{agent_id}",
    summary="The agent's own records: its steps and events",
    description="Newest first; users see the records of their own jobs only. An unknown "
    "agent answers 404 AGENT_NOT_FOUND.",
    response_model=PageEnvelope[AgentLogEntry],
    responses=documented(AgentLogEntry, 404, 422, paged=True),
)
async def agent_logs(
    request: Request, agent_id: AgentId, actor: CachedActorDep, page: PagingDep
) -> dict[str, Any]:
    found = await in_one_hop(
        request,
        lambda session: agents.logs(session, agent=agent_id, actor=actor, page=page),
        writes=True,
    )
    return paged(request, found)


@router.get(
    "/config",
    summary="Agent configuration (one agent with ?agent=, else all)",
    description="The stored configuration and the defaults it is merged over.",
    response_model=SuccessEnvelope[list[AgentConfigRead]],
    responses=documented(AgentConfigRead, 404, 422, many=True),
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
    description="The given keys are merged over the current configuration and the result is "
    f"validated against the agent's settings model (422 INVALID_CONFIG). "
    f"`agent.config.update`. {WRITERS}",
    response_model=SuccessEnvelope[AgentConfigRead],
    responses=documented(AgentConfigRead, 400, 403, 404, 422),
)
def update_agent_config(
    request: Request, body: AgentConfigUpdate, write: AdminWriteDep
) -> dict[str, Any]:
    payload = {"agent_id": body.agent, "config": body.config}
    return ok(request, write.run("agent.config.update", payload))


@router.get(
    "/queue/{agent_id}",
    summary="The agent's queued work in dispatch order",
    description="Priority first, then age; users see their own jobs' work only.",
    response_model=PageEnvelope[QueuedWork],
    responses=documented(QueuedWork, 404, 422, paged=True),
)
async def agent_queue(
    request: Request, agent_id: AgentId, actor: CachedActorDep, page: PagingDep
) -> dict[str, Any]:
    found = await in_one_hop(
        request,
        lambda session: agents.queue(session, agent=agent_id, actor=actor, page=page),
        writes=True,
    )
    return paged(request, found)


@router.post(
    "/clear-queue",
    summary="Remove an agent's queued work and cancel those jobs",
    description="`dry_run: true` lists what would be cancelled and changes nothing. "
    f"`agent.clear_queue`. {WRITERS}",
    response_model=SuccessEnvelope[QueueClearResult],
    responses=documented(QueueClearResult, 400, 403, 404, 422),
)
def clear_agent_queue(request: Request, body: AgentRef, write: AdminWriteDep) -> dict[str, Any]:
    payload = {"agent_id": body.agent, "dry_run": body.dry_run, "confirm": not body.dry_run}
    return ok(request, write.run("agent.clear_queue", payload))


@router.get(
    "/{agent_id}",
    summary="One agent",
    description="By name (ingest, probe, scenes, clipper, thumbs, publish) or id; "
    "an unknown one answers 404 AGENT_NOT_FOUND.",
    response_model=SuccessEnvelope[AgentStatus],
    responses=documented(AgentStatus, 404, 422),
)
def get_agent(
    request: Request, agent_id: AgentId, session: SessionDep, _: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, agents.require(session, agent=agent_id))


@router.post(
    "/{agent_id}/start",
    summary="Start an agent: it takes queued work again",
    description=f"`agent.start`. {WRITERS}",
    response_model=SuccessEnvelope[AgentStatus],
    responses=documented(AgentStatus, 403, 404, 422),
)
def start_agent(request: Request, agent_id: AgentId, write: AdminWriteDep) -> dict[str, Any]:
    return ok(request, write.run("agent.start", {"agent_id": agent_id}))


@router.post(
    "/{agent_id}/stop",
    summary="Stop an agent: its queued work waits",
    description="Running steps finish; the runner claims nothing more for this agent "
    f"until it is started again. `agent.stop`. {WRITERS}",
    response_model=SuccessEnvelope[AgentStatus],
    responses=documented(AgentStatus, 403, 404, 422),
)
def stop_agent(request: Request, agent_id: AgentId, write: AdminWriteDep) -> dict[str, Any]:
    return ok(request, write.run("agent.stop", {"agent_id": agent_id}))
