"""`POST /api/admin/action` and `GET /api/admin/action/status` over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services import events
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.servers import serve_many
from tests.support.auth import auth_headers, create_user_and_token

LOCAL = ("127.0.0.1", 50000)
OUTSIDE = ("203.0.113.9", 50000)
ACTION = "/api/admin/action"


def _client(runtime: Runtime, peer: tuple[str, int] = LOCAL) -> TestClient:
    with runtime.session() as session:
        ensure_default_agents(session)
    return TestClient(create_app(runtime), client=peer)


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with _client(runtime) as test_client:
        yield test_client


def _headers(runtime: Runtime, role: str = "admin") -> dict[str, str]:
    return auth_headers(create_user_and_token(runtime, role=role)[1])


def _event(runtime: Runtime) -> str:
    with runtime.session() as session:
        return str(events.emit(session, severity="error", source="test", message="x").id)


def test_action_runs_and_answers_the_envelope(
    client: TestClient, settings: Settings, runtime: Runtime
) -> None:
    event_id = _event(runtime)
    response = client.post(
        ACTION,
        json={"action": "dashboard.alert.ack", "payload": {"event_id": event_id}},
        headers={**_headers(runtime), "X-Trace-Id": "trace-abc"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["data"]["result"]["acknowledged_at"] is not None
    assert body["data"]["trace_id"] == "trace-abc"
    assert response.headers["x-trace-id"] == "trace-abc"
    status = client.get("/api/admin/action/status", headers=_headers(runtime)).json()["data"]
    assert status["recent"][0]["trace_id"] == "trace-abc"
    assert status["recent"][0]["action"] == "dashboard.alert.ack"
    [stats] = [item for item in status["stats"] if item["action"] == "dashboard.alert.ack"]
    assert stats["count"] == 1
    assert stats["outcomes"] == [{"outcome": "success", "count": 1}]
    names = {item["name"] for item in status["catalog"]}
    assert {"job.cancel", "queue.clear", "audit.verify", "dashboard.refresh"} <= names
    assert {item["name"] for item in status["breakers"]} == {
        "database",
        "cache",
        "broker",
        "storage",
    }


def test_unknown_action_is_400_and_bad_payload_422(
    client: TestClient, settings: Settings, runtime: Runtime
) -> None:
    headers = _headers(runtime)
    unknown = client.post(ACTION, json={"action": "job.explode", "payload": {}}, headers=headers)
    assert unknown.status_code == 400
    assert unknown.json()["error_code"] == "UNKNOWN_ACTION"
    bad = client.post(
        ACTION, json={"action": "job.set_priority", "payload": {"job_id": "x"}}, headers=headers
    )
    assert bad.status_code == 422
    fields = {err["loc"][-1] for err in bad.json()["details"]["errors"]}
    assert {"job_id", "priority"} <= fields


def test_authentication_roles_and_ip(
    client: TestClient, settings: Settings, runtime: Runtime
) -> None:
    body = {"action": "queue.pause", "payload": {}}
    assert client.post(ACTION, json=body).status_code == 401
    denied = client.post(ACTION, json=body, headers=_headers(runtime, "supervisor"))
    assert denied.status_code == 403
    assert denied.json()["error_code"] == "PERMISSION_DENIED"
    with _client(runtime, OUTSIDE) as outside:
        far = outside.post(ACTION, json=body, headers=_headers(runtime))
    assert far.status_code == 403
    assert far.json()["error_code"] == "IP_NOT_ALLOWED"
    confirm = client.post(
        ACTION, json={"action": "queue.clear", "payload": {}}, headers=_headers(runtime)
    )
    assert confirm.status_code == 422
    assert confirm.json()["error_code"] == "CONFIRMATION_REQUIRED"


def test_idempotency_headers(client: TestClient, settings: Settings, runtime: Runtime) -> None:
    headers = _headers(runtime)
    body = {"action": "queue.pause", "payload": {}}
    first = client.post(ACTION, json=body, headers={**headers, "Idempotency-Key": "abc"})
    again = client.post(ACTION, json=body, headers={**headers, "X-Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"]["audit_seq"] == first.json()["data"]["audit_seq"]
    other = {"action": "queue.resume", "payload": {}}
    reused = client.post(ACTION, json=other, headers={**headers, "Idempotency-Key": "abc"})
    assert reused.status_code == 422
    assert reused.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    missing = {"action": "job.cancel", "payload": {"job_id": str(uuid.uuid4())}}
    failed = client.post(ACTION, json=missing, headers={**headers, "Idempotency-Key": "gone"})
    replayed = client.post(ACTION, json=missing, headers={**headers, "Idempotency-Key": "gone"})
    assert failed.status_code == replayed.status_code == 404
    assert replayed.headers["idempotent-replayed"] == "true"


def test_rate_limit_answers_429_with_headers(
    settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    limited = make_runtime(settings.model_copy(update={"action_rate_limits": {"standard": 2}}))
    headers = _headers(limited)
    body = {"action": "queue.pause", "payload": {}}
    with _client(limited) as client:
        codes = [client.post(ACTION, json=body, headers=headers).status_code for _ in range(3)]
        last = client.post(ACTION, json=body, headers=headers)
    assert codes == [200, 200, 429]
    assert last.status_code == 429
    assert 1 <= int(last.headers["retry-after"]) <= 60
    assert last.headers["ratelimit-policy"] == "2;w=60"
    assert "remaining=0" in last.headers["ratelimit"]


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["distributed"], indirect=True)
def test_rate_limit_is_shared_by_two_server_processes(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)
    headers = _headers(runtime)
    body = {"action": "queue.pause", "payload": {}}
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with serve_many(settings, logs, AGENTOS_ACTION_RATE_LIMITS='{"standard": 4}') as urls:
        codes = [
            httpx.post(f"{urls[i % 2]}{ACTION}", json=body, headers=headers, timeout=10).status_code
            for i in range(6)
        ]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_admin_tiers_are_enforced_with_headers(
    settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """The seed's admin tiers: actions 50/min per admin, admin reads (the status page
    included) 500/min; both answer RateLimit headers, on success too."""
    tight = make_runtime(
        settings.model_copy(
            update={
                "ratelimit_admin_action_per_min": 3,
                "ratelimit_admin_read_per_min": 2,
                "ratelimit_burst_factor": 0,
            }
        )
    )
    headers = _headers(tight)
    with _client(tight) as client:
        status = [client.get(f"{ACTION}/status", headers=headers) for _ in range(3)]
        actions = [
            client.post(ACTION, json={"action": name, "payload": {}}, headers=headers)
            for name in ("queue.pause", "queue.resume", "queue.pause", "queue.resume")
        ]
    assert [r.status_code for r in status] == [200, 200, 429]
    assert status[0].headers["ratelimit-policy"] == "2;w=60"
    assert status[2].json()["details"]["tier"] == "admin_read"
    # Different actions, each far below its own class limit: the per-admin tier refuses.
    assert [r.status_code for r in actions] == [200, 200, 200, 429]
    assert actions[0].headers["ratelimit"].startswith("limit=3, remaining=2")
    assert actions[3].json()["details"]["tier"] == "admin_action"
    assert int(actions[3].headers["retry-after"]) >= 1
