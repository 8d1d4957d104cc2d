"""The SSOT cache hit answered at the edge (server/edge.py) must be indistinguishable from
the full route: the same body, headers, checks, refusals, audit and figures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import AuditRecord
from agentos.server.app import create_app
from agentos.server.routes import admin_ssot
from agentos.services import admin_data
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

LOCAL = ("127.0.0.1", 50000)
SSOT = "/api/admin/ssot"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=LOCAL) as test_client:
        yield test_client


def _headers(runtime: Runtime, role: str = "admin") -> dict[str, str]:
    return auth_headers(create_user_and_token(runtime, role=role)[1])


def _warm(client: TestClient, headers: dict[str, str], path: str = SSOT) -> None:
    """Token and user cached, document local: what the fast path needs."""
    assert client.get(path, headers=headers).status_code == 200


def _fast_calls(monkeypatch: pytest.MonkeyPatch, path: str = SSOT) -> list[bool]:
    """Record whether each request to `path` was answered at the edge."""
    answered: list[bool] = []
    key = ("GET", path)
    handler = admin_ssot.FAST_ROUTES[key]

    async def spy(request: Any) -> Any:
        response = await handler(request)
        answered.append(response is not None and response.status_code == 200)
        return response

    monkeypatch.setitem(admin_ssot.FAST_ROUTES, key, spy)
    return answered


def test_the_hit_is_answered_at_the_edge_with_every_header(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = _fast_calls(monkeypatch)
    with runtime.session() as session:
        ensure_default_agents(session)
    headers = _headers(runtime)
    with TestClient(create_app(runtime), client=LOCAL) as client:
        _warm(client, headers)
        response = client.get(SSOT, headers={**headers, "X-Trace-Id": "edge-trace-1"})
    assert answered[-1] is True
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"]["dashboard"]["agents_total"] == 6
    assert body["cache"]["source"] == "hit" == response.headers["x-cache"].lower()
    for name in (
        "etag",
        "cache-control",
        "ratelimit",
        "ratelimit-policy",
        "x-response-time-ms",
        "content-security-policy",
        "x-content-type-options",
    ):
        assert name in response.headers, name
    assert response.headers["x-trace-id"] == "edge-trace-1"
    assert response.headers["api-version"] == "1"


def test_the_versioned_path_and_the_dashboard_take_the_fast_path(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _fast_calls(monkeypatch)
    dashboard = _fast_calls(monkeypatch, f"{SSOT}/dashboard")
    with runtime.session() as session:
        ensure_default_agents(session)
    headers = _headers(runtime)
    with TestClient(create_app(runtime), client=LOCAL) as client:
        _warm(client, headers)
        versioned = client.get("/api/v1/admin/ssot", headers=headers)
        section = client.get(f"{SSOT}/dashboard", headers=headers)
    assert versioned.status_code == 200
    assert whole[-1] is True
    assert section.status_code == 200
    assert dashboard[-1] is True
    assert section.json()["data"]["agents_total"] == 6


def test_a_denied_reader_is_refused_and_audited_as_by_the_full_route(
    client: TestClient, runtime: Runtime
) -> None:
    headers = _headers(runtime, "user")
    _warm(client, _headers(runtime))  # the document is local
    for _ in range(2):  # the second time the user's token is cached: still the full check
        response = client.get(SSOT, headers=headers)
        assert response.status_code == 403
        assert response.json()["error_code"] == "PERMISSION_DENIED"
    with runtime.session() as session:
        denials = session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "read:ssot", AuditRecord.outcome == "denied"
            )
        ).all()
    assert len(denials) == 2


def test_a_revoked_session_is_refused_on_the_fast_path(
    client: TestClient, runtime: Runtime
) -> None:
    user, token = create_user_and_token(runtime, role="admin")
    headers = auth_headers(token)
    _warm(client, headers)
    with runtime.session() as session:
        users.revoke_tokens(session, user_id=user)
        session.commit()
    # Revoked outside a request, the news reaches this process's caches through the bus
    # (an action drops them at once): refused as soon as it is heard.
    deadline = time.monotonic() + 5
    response = client.get(SSOT, headers=headers)
    while response.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.get(SSOT, headers=headers)
    assert response.status_code == 401


def test_the_rate_limit_refuses_on_the_fast_path_with_its_headers(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = _fast_calls(monkeypatch)
    settings.ratelimit_admin_read_per_min = 3
    settings.ratelimit_burst_factor = 0
    with runtime.session() as session:
        ensure_default_agents(session)
    headers = _headers(runtime)
    with TestClient(create_app(runtime), client=LOCAL) as client:
        statuses = [client.get(SSOT, headers=headers).status_code for _ in range(3)]
        refused = client.get(SSOT, headers=headers)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error_code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-trace-id"]
    assert len(answered) >= 2  # the later requests, the refusal among them, were at the edge


def test_a_stale_local_copy_goes_to_the_full_route(client: TestClient, runtime: Runtime) -> None:
    headers = _headers(runtime)
    _warm(client, headers)
    admin_data.store_for(runtime).invalidate()
    response = client.get(SSOT, headers=headers)
    assert response.status_code == 200
    assert response.headers["x-cache"] == "MISS"


def test_fast_answers_are_counted_under_their_route(client: TestClient, runtime: Runtime) -> None:
    headers = _headers(runtime)
    _warm(client, headers)
    recorder = client.app.state.metrics  # type: ignore[attr-defined]
    before = dict(recorder._pending)
    client.get(SSOT, headers=headers)
    after = recorder._pending
    grown = {key for key, count in after.items() if count > before.get(key, 0)}
    assert f"metrics:http|GET|{SSOT}|count" in grown, grown
