"""Every admin-grade write of the user API answers as its admin action would.

For each route in `ROUTE_ACTIONS` and each role, the HTTP answer is allowed (not 403)
exactly when the role table lets that role run the action, and every attempt leaves one
audit record with source `api` (denied ones as `denied`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import AuditRecord
from agentos.server.app import create_app
from agentos.server.routes._actions import ROUTE_ACTIONS
from agentos.services.actions import registry
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.services.security.roles import ROLES, may_run
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.jobs import make_actor, make_job

# Writes of the user API that are not admin actions: a user's own uploads and jobs.
OWNER_WRITES = {
    ("POST", "/api/jobs/create"),
    ("POST", "/api/jobs/{job_id}/retry"),
    ("POST", "/api/jobs/{job_id}/cancel"),
    ("POST", "/api/upload/init"),
    ("POST", "/api/upload/chunk"),
    ("POST", "/api/upload/finalize"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/password"),
    ("POST", "/api/admin/action"),
}


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    relaxed = settings.model_copy(
        update={"action_rate_limits": {"standard": 1000, "high_risk": 1000, "critical": 1000}}
    )
    with runtime.session() as session:
        ensure_default_agents(session)
    app = create_app(Runtime(relaxed))
    with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
        yield test_client
    app.state.runtime.close()


def _request(runtime: Runtime, path: str) -> tuple[str, dict[str, Any] | None]:
    """A concrete request for a route template, on rows that exist."""
    if "{job_id}" in path:
        with runtime.session() as session:
            job = make_job(session, make_actor(session, "user"), "queued")
        return path.replace("{job_id}", str(job.id)), {"status": "cancelled"}
    bodies: dict[str, dict[str, Any]] = {
        "/api/agents/config": {"agent": "scenes", "config": {"threshold": 30.0}},
        "/api/agents/clear-queue": {"agent": "probe", "dry_run": True},
    }
    return path.replace("{agent_id}", "probe"), bodies.get(path)


def _audits(runtime: Runtime, actor_id: uuid.UUID, action: str) -> list[AuditRecord]:
    with runtime.session() as session:
        return list(
            session.scalars(
                select(AuditRecord).where(
                    AuditRecord.actor_id == actor_id, AuditRecord.action == action
                )
            )
        )


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_as_its_action(client: TestClient, runtime: Runtime, role: str) -> None:
    user_id, token = create_user_and_token(runtime, role=role)
    for (method, template), action in ROUTE_ACTIONS.items():
        spec = registry.require(action)
        path, body = _request(runtime, template)
        response = client.request(method, path, json=body, headers=auth_headers(token))
        allowed = may_run(role, permission=spec.permission, action=action)
        assert (response.status_code != 403) == allowed, (role, template, response.text)
        if not allowed:
            assert response.json()["error_code"] == "PERMISSION_DENIED"
        [record] = _audits(runtime, user_id, action)
        assert record.source == "api"
        assert record.outcome == ("success" if allowed else "denied"), (role, template)


def test_every_state_changing_route_is_an_action_or_an_owner_write(runtime: Runtime) -> None:
    paths = create_app(runtime).openapi()["paths"]
    writes = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method not in {"get", "head", "options"}
    }
    assert writes - OWNER_WRITES == set(ROUTE_ACTIONS)
