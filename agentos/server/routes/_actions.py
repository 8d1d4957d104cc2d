"""The user API's admin-grade writes, run through the admin action pipeline.

A route such as `POST /api/agents/{id}/stop` keeps its seed path and its user-API envelope
but does what `POST /api/admin/action` does for `agent.stop`: the role table decides
(`security/roles.py`), the action's rate class applies, an `Idempotency-Key` replays,
the breakers guard, and the attempt is audited with source `api`. `ROUTE_ACTIONS` lists
every such route; `tests/server/test_route_rbac.py` walks it for every role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from agentos.server.deps import CurrentActorDep, SessionDep
from agentos.services.actions import pipeline
from agentos.services.context import Actor

REPLAY_HEADER = "Idempotent-Replayed"
# (method, path template) -> the action it runs
ROUTE_ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/api/agents/restart"): "agent.restart_all",
    ("POST", "/api/agents/config"): "agent.config.update",
    ("POST", "/api/agents/clear-queue"): "agent.clear_queue",
    ("POST", "/api/agents/{agent_id}/start"): "agent.start",
    ("POST", "/api/agents/{agent_id}/stop"): "agent.stop",
    ("POST", "/api/jobs/{job_id}/status"): "job.set_status",
}


@dataclass
class AdminWrite:
    request: Request
    response: Response
    session: Session
    actor: Actor

    def run(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The action's result (as JSON) after the whole pipeline."""
        headers = self.request.headers
        answer = pipeline.execute(
            self.session,
            actor=self.actor,
            action=action,
            payload=payload,
            idempotency_key=headers.get("idempotency-key") or headers.get("x-idempotency-key"),
        )
        if answer.replayed:
            self.response.headers[REPLAY_HEADER] = "true"
        return answer.result


def admin_write(
    request: Request, response: Response, session: SessionDep, actor: CurrentActorDep
) -> AdminWrite:
    return AdminWrite(request, response, session, actor)


AdminWriteDep = Annotated[AdminWrite, Depends(admin_write)]
