"""AgentsWorkers view, agent actions: payloads and results (ACTIONS.md)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from agentos.schemas.actions import ActionPayload, DangerousPayload
from agentos.schemas.agents import CONCURRENCY_MAX, CONCURRENCY_MIN, AgentStatus

AgentId = Annotated[
    str,
    Field(min_length=1, max_length=64, description="Agent name or UUID id", examples=["scenes"]),
]


class AgentIdPayload(ActionPayload):
    agent_id: AgentId


class AgentClearQueuePayload(DangerousPayload):
    agent_id: AgentId


class AgentRestartAllPayload(DangerousPayload):
    """Every agent restarted; needs confirm (or dry_run)."""


class AgentSetConcurrencyPayload(ActionPayload):
    agent_id: AgentId
    concurrency: int = Field(ge=CONCURRENCY_MIN, le=CONCURRENCY_MAX, examples=[4])


class AgentConfigUpdatePayload(ActionPayload):
    agent_id: AgentId
    config: dict[str, Any] = Field(
        description="Keys merged into the agent's settings; the result is validated as a whole",
        examples=[{"threshold": 30.0}],
    )


class AgentRestartAllResult(BaseModel):
    agents: list[AgentStatus]
    dry_run: bool = False
