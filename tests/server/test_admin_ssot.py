"""`/api/admin/ssot`: access rules, the envelope around cached bytes, hit/miss/direct."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentos.errors import UnavailableError
from agentos.server.app import create_app
from agentos.services import admin_data
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

LOCAL = ("127.0.0.1", 50000)
OUTSIDE = ("203.0.113.9", 50000)


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=LOCAL) as test_client:
        yield test_client


def _token(runtime: Runtime, role: str = "admin") -> dict[str, str]:
    return auth_headers(create_user_and_token(runtime, role=role)[1])


def test_requires_a_token(client: TestClient) -> None:
    response = client.get("/api/admin/ssot")
    assert response.status_code == 401
    assert response.json()["error_code"] == "AUTH_REQUIRED"


def test_role_user_is_forbidden(client: TestClient, settings: Settings, runtime: Runtime) -> None:
    response = client.get("/api/admin/ssot", headers=_token(runtime, "user"))
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"


def test_ip_outside_the_allow_list_is_forbidden(settings: Settings, runtime: Runtime) -> None:
    headers = _token(runtime, "admin")
    with TestClient(create_app(runtime), client=OUTSIDE) as outside:
        response = outside.get("/api/admin/ssot/dashboard", headers=headers)
    assert response.status_code == 403
    assert response.json()["error_code"] == "IP_NOT_ALLOWED"


@pytest.mark.parametrize("role", ["admin", "operator", "supervisor", "readonly"])
def test_admin_read_roles_get_the_document(
    client: TestClient, settings: Settings, runtime: Runtime, role: str
) -> None:
    response = client.get("/api/admin/ssot", headers=_token(runtime, role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["success"] is True
    assert set(body["data"]) >= {"dashboard", "agents_workers", "analytics", "queue", "logs"}
    assert body["data"]["dashboard"]["agents_total"] == 6
    assert body["cache"]["source"] == response.headers["x-cache"].lower()
    assert "ratelimit" in response.headers


def test_miss_then_hit_with_age(client: TestClient, settings: Settings, runtime: Runtime) -> None:
    headers = _token(runtime)
    admin_data.store_for(runtime).invalidate()
    first = client.get("/api/admin/ssot", headers=headers)
    second = client.get("/api/admin/ssot", headers=headers)
    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"
    assert float(second.headers["x-cache-age"]) >= 0
    meta = second.json()["cache"]
    assert meta["built_at"] == first.json()["cache"]["built_at"]
    assert meta["size_bytes"] > 0
    assert second.json()["data"] == first.json()["data"]


def test_dashboard_only(client: TestClient, settings: Settings, runtime: Runtime) -> None:
    headers = _token(runtime)
    whole = client.get("/api/admin/ssot", headers=headers).json()
    dashboard = client.get("/api/admin/ssot/dashboard", headers=headers)
    assert dashboard.status_code == 200
    assert dashboard.headers["x-cache"] == "HIT"
    assert dashboard.json()["data"] == whole["data"]["dashboard"]


def test_health_reports_counts(client: TestClient, settings: Settings, runtime: Runtime) -> None:
    headers = _token(runtime, "readonly")
    client.get("/api/admin/ssot", headers=headers)
    client.get("/api/admin/ssot", headers=headers)
    health = client.get("/api/admin/ssot/health", headers=headers)
    assert health.status_code == 200
    data = health.json()["data"]
    assert data["cache_available"] is True
    assert data["hits"] + data["misses"] >= 2
    assert data["rebuilds"] >= 1
    assert data["last_build_ms"] > 0
    assert data["warmer_running"] is True
    assert data["feed_running"] is True


class _DownCache:
    name = "down"

    def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise UnavailableError("cache is down", code="CACHE_UNAVAILABLE")

        return fail


def test_cache_down_answers_direct_not_5xx(
    client: TestClient, settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _token(runtime)
    assert client.get("/api/admin/ssot", headers=headers).status_code == 200
    monkeypatch.setattr(runtime.backends, "cache", _DownCache())
    admin_data.store_for(runtime).invalidate()
    response = client.get("/api/admin/ssot", headers=headers)
    assert response.status_code == 200
    assert response.headers["x-cache"] == "DIRECT"
    assert response.json()["cache"]["source"] == "direct"
    health = client.get("/api/admin/ssot/health", headers=headers).json()["data"]
    assert health["cache_available"] is False


def test_redis_gone_answers_direct(settings: Settings, runtime: Runtime) -> None:
    """A server pointed at a Redis that is not there still serves the document."""
    if settings.is_embedded:
        pytest.skip("the embedded cache cannot go away")
    headers = _token(runtime)
    dead = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(dead), client=LOCAL) as dead_client:
        response = dead_client.get("/api/admin/ssot", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-cache"] == "DIRECT"


def test_a_poller_that_sends_the_etag_back_gets_304_until_the_document_changes(
    client: TestClient, runtime: Runtime
) -> None:
    headers = _token(runtime)
    first = client.get("/api/admin/ssot/dashboard", headers=headers)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get("/api/admin/ssot/dashboard", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    whole = client.get("/api/admin/ssot", headers={**headers, "If-None-Match": etag})
    assert whole.status_code == 200  # another section: another tag
    action = {"action": "queue.pause", "payload": {}}
    assert client.post("/api/admin/action", json=action, headers=headers).status_code == 200
    changed = client.get("/api/admin/ssot/dashboard", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["data"]["queue_paused"] is True
