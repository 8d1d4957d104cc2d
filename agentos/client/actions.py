"""Admin actions for the front ends: locally through the pipeline, or over HTTP.

Locally the actor is the configured local operator (role admin, source cli/tui), audited
with the OS user; remotely the token's user, through `POST /api/admin/action`.
"""

from __future__ import annotations

from typing import Any

from agentos.client.connection import Connection
from agentos.schemas.actions import ActionInfo, ActionResponse, ActionStatusRead
from agentos.services.actions import pipeline, registry, status

ACTION_PATH = "/api/admin/action"
STATUS_PATH = "/api/admin/action/status"


def run(
    conn: Connection,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
) -> ActionResponse:
    """Run one action; errors come back as the same AgentOSError either way."""
    if conn.local:
        with conn.session() as session:
            return pipeline.execute(
                session,
                actor=conn.local_actor,
                action=name,
                payload=payload or {},
                idempotency_key=idempotency_key,
            )
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    data = conn.request(
        "POST", ACTION_PATH, json={"action": name, "payload": payload or {}}, headers=headers
    )
    return ActionResponse.model_validate(data)


def catalog(conn: Connection) -> list[ActionInfo]:
    if conn.local:
        return registry.catalog(conn.settings)
    return action_status(conn, recent=1, window_hours=1).catalog


def describe(conn: Connection, name: str) -> ActionInfo | None:
    if conn.local:
        spec = registry.get(name)
        return None if spec is None else registry.info(spec, conn.settings)
    return next((item for item in catalog(conn) if item.name == name), None)


def action_status(
    conn: Connection, *, recent: int = 20, window_hours: int = 24
) -> ActionStatusRead:
    if conn.local:
        with conn.session() as session:
            return status.status(
                session, actor=conn.local_actor, recent=recent, window_hours=window_hours
            )
    data = conn.request("GET", STATUS_PATH, params={"recent": recent, "window_hours": window_hours})
    return ActionStatusRead.model_validate(data)
