"""Maintenance mode over HTTP: user writes answer 503 with the message and Retry-After;
reads, /health (which reports it) and admin endpoints keep working; a second server
process sees it within a second."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.servers import serve_many
from tests.support.auth import auth_headers, create_user_and_token

ACTION = "/api/admin/action"
SEEN_WITHIN_S = 1.0


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def _action(client: TestClient, headers: dict[str, str], name: str, **payload: object) -> None:
    response = client.post(ACTION, json={"action": name, "payload": payload}, headers=headers)
    assert response.status_code == 200, response.text


def test_user_writes_answer_503_while_reads_health_and_admin_work(
    client: TestClient, runtime: Runtime
) -> None:
    admin = auth_headers(create_user_and_token(runtime, role="admin")[1])
    user = auth_headers(create_user_and_token(runtime, role="user")[1])
    _action(client, admin, "system.maintenance.enable", message="db upgrade", retry_after_s=90)

    refused = client.post(f"/api/jobs/{uuid.uuid4()}/cancel", headers=user)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "90"
    body = refused.json()
    assert body["error_code"] == "MAINTENANCE"
    assert "db upgrade" in body["error"]
    upload = client.post("/api/upload/init", json={}, headers=user)
    assert upload.status_code == 503

    assert client.get("/api/jobs/history", headers=user).status_code == 200
    health = client.get("/health").json()["data"]
    assert health["maintenance"]["enabled"] is True
    assert health["maintenance"]["message"] == "db upgrade"
    ssot = client.get("/api/admin/ssot", headers=admin).json()
    assert ssot["data"]["dashboard"]["maintenance"]["enabled"] is True

    _action(client, admin, "system.maintenance.disable")
    after = client.post(f"/api/jobs/{uuid.uuid4()}/cancel", headers=user)
    assert after.status_code == 404


def test_a_second_server_process_sees_maintenance_within_a_second(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)
    admin = auth_headers(create_user_and_token(runtime, role="admin")[1])
    user = auth_headers(create_user_and_token(runtime, role="user")[1])
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with serve_many(settings, logs) as (first, second):
        probe = f"{second}/api/jobs/{uuid.uuid4()}/cancel"
        assert httpx.post(probe, headers=user).status_code == 404
        enabled = httpx.post(
            f"{first}{ACTION}",
            json={"action": "system.maintenance.enable", "payload": {"message": "moving"}},
            headers=admin,
        )
        assert enabled.status_code == 200, enabled.text
        started = time.monotonic()
        status = 404
        while status != 503 and time.monotonic() - started < SEEN_WITHIN_S + 2:
            status = httpx.post(probe, headers=user).status_code
        seen_after = time.monotonic() - started
        assert status == 503
        assert seen_after <= SEEN_WITHIN_S, f"second server saw it after {seen_after:.2f} s"
