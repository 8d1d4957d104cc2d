"""AgentsWorkers view, agent actions: agent.start, agent.stop, agent.restart,
agent.restart_all, agent.clear_queue, agent.set_concurrency, agent.config.update,
agent.config.reset. Handlers only translate; the agent logic is in services.agents, and
the runners (embedded pools, Celery workers) follow the `agents` rows it changes.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions_agents import (
    AgentClearQueuePayload,
    AgentConfigUpdatePayload,
    AgentIdPayload,
    AgentRestartAllPayload,
    AgentRestartAllResult,
    AgentSetConcurrencyPayload,
)
from agentos.schemas.agents import AgentConfigRead, AgentStatus
from agentos.schemas.queue import QueueClearResult
from agentos.services import agents
from agentos.services.actions.dryrun import rehearse
from agentos.services.actions.registry import ActionContext, action

VIEW = "AgentsWorkers"
# Starting an agent sends its queued work to the workers (Celery: the broker).
WAKES_WORKERS = ("database", "broker")


@action(
    "agent.start",
    view=VIEW,
    summary="Start an agent: it consumes its queue again",
    payload=AgentIdPayload,
    result=AgentStatus,
    permission="agents:write",
    dependencies=WAKES_WORKERS,
)
def agent_start(session: Session, payload: AgentIdPayload, ctx: ActionContext) -> AgentStatus:
    return agents.start(session, agent=payload.agent_id, actor=ctx.actor)


@action(
    "agent.stop",
    view=VIEW,
    summary="Stop an agent: it claims no more work; its queued work waits, running stages finish",
    payload=AgentIdPayload,
    result=AgentStatus,
    permission="agents:write",
)
def agent_stop(session: Session, payload: AgentIdPayload, ctx: ActionContext) -> AgentStatus:
    return agents.stop(session, agent=payload.agent_id, actor=ctx.actor)


@action(
    "agent.restart",
    view=VIEW,
    summary="Restart an agent: its running stages go back to its queue, then it consumes again",
    payload=AgentIdPayload,
    result=AgentStatus,
    permission="agents:write",
    dependencies=WAKES_WORKERS,
)
def agent_restart(session: Session, payload: AgentIdPayload, ctx: ActionContext) -> AgentStatus:
    return agents.restart(session, agent=payload.agent_id, actor=ctx.actor)


@action(
    "agent.restart_all",
    view=VIEW,
    summary="Restart every agent (running stages re-queued, every agent started)",
    payload=AgentRestartAllPayload,
    result=AgentRestartAllResult,
    permission="agents:write",
    rate_class="high_risk",
    dangerous=True,
    dependencies=WAKES_WORKERS,
)
def agent_restart_all(
    session: Session, payload: AgentRestartAllPayload, ctx: ActionContext
) -> AgentRestartAllResult:
    def run() -> AgentRestartAllResult:
        restarted = agents.restart_all(session, actor=ctx.actor)
        return AgentRestartAllResult(agents=restarted, dry_run=ctx.dry_run)

    return rehearse(session, run) if ctx.dry_run else run()


@action(
    "agent.clear_queue",
    view=VIEW,
    summary="Remove an agent's pending work and cancel those jobs; dry_run lists them",
    payload=AgentClearQueuePayload,
    result=QueueClearResult,
    permission="agents:write",
    rate_class="high_risk",
    dangerous=True,
)
def agent_clear_queue(
    session: Session, payload: AgentClearQueuePayload, ctx: ActionContext
) -> QueueClearResult:
    return agents.clear_queue(session, agent=payload.agent_id, actor=ctx.actor, dry_run=ctx.dry_run)


@action(
    "agent.set_concurrency",
    view=VIEW,
    summary="Change how many stages of an agent run at once, live",
    payload=AgentSetConcurrencyPayload,
    result=AgentStatus,
    permission="agents:write",
)
def agent_set_concurrency(
    session: Session, payload: AgentSetConcurrencyPayload, ctx: ActionContext
) -> AgentStatus:
    return agents.set_concurrency(
        session, agent=payload.agent_id, concurrency=payload.concurrency, actor=ctx.actor
    )


@action(
    "agent.config.update",
    view=VIEW,
    summary="Change validated agent settings (e.g. scene threshold, clip length bounds)",
    payload=AgentConfigUpdatePayload,
    result=AgentConfigRead,
    permission="agents:write",
)
def agent_config_update(
    session: Session, payload: AgentConfigUpdatePayload, ctx: ActionContext
) -> AgentConfigRead:
    return agents.update_config(
        session, agent=payload.agent_id, config=payload.config, actor=ctx.actor
    )


@action(
    "agent.config.reset",
    view=VIEW,
    summary="Put an agent's settings back to their defaults",
    payload=AgentIdPayload,
    result=AgentConfigRead,
    permission="agents:write",
)
def agent_config_reset(
    session: Session, payload: AgentIdPayload, ctx: ActionContext
) -> AgentConfigRead:
    return agents.reset_config(session, agent=payload.agent_id, actor=ctx.actor)
