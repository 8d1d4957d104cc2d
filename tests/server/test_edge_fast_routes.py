"""The SSOT cache hit and the admin action answered at the edge (server/edge.py) must be
indistinguishable from their full routes: the same body, headers, checks, refusals, audit
and figures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import AuditRecord
from agentos.errors import AgentOSError
from agentos.server.app import create_app
from agentos.server.routes import admin_actions, admin_ssot
from agentos.services import admin_data, events
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


@contextmanager
def _client_within(runtime: Runtime, settings: Settings, **per_min: int) -> Iterator[TestClient]:
    """A client of an app whose named tiers allow so many a minute, with no burst window."""
    for tier, limit in per_min.items():
        setattr(settings, f"ratelimit_{tier}", limit)
    settings.ratelimit_burst_factor = 0
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=LOCAL) as client:
        yield client


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
    with _client_within(runtime, settings, admin_read_per_min=3) as client:
        headers = _headers(runtime)
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


# --- POST /api/admin/action at the edge ---------------------------------------------------

ACTION = "/api/admin/action"


def _action_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record, per action request, whether the edge answered it (False: handed on)."""
    answered: list[bool] = []
    key = ("POST", ACTION)
    handler = admin_actions.FAST_ROUTES[key]

    async def spy(request: Any) -> Any:
        try:
            response = await handler(request)
        except AgentOSError:  # the edge answers it with the error envelope
            answered.append(True)
            raise
        answered.append(response is not None)
        return response

    monkeypatch.setitem(admin_actions.FAST_ROUTES, key, spy)
    return answered


def _event(runtime: Runtime) -> str:
    with runtime.session() as session:
        return str(events.emit(session, severity="error", source="test", message="x").id)


def _ack(event_id: str) -> dict[str, Any]:
    return {"action": "dashboard.alert.ack", "payload": {"event_id": event_id}}


@contextmanager
def _warm_action_client(runtime: Runtime, headers: dict[str, str]) -> Iterator[TestClient]:
    """A client whose admin token is cached (one action run through the full route)."""
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=LOCAL) as client:
        client.post(ACTION, json=_ack(_event(runtime)), headers=headers)
        yield client


def _audit_of(runtime: Runtime, trace_id: str) -> AuditRecord:
    with runtime.session() as session:
        return session.scalars(select(AuditRecord).where(AuditRecord.trace_id == trace_id)).one()


def test_an_action_is_answered_at_the_edge_like_the_full_route(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = _action_calls(monkeypatch)
    headers = {**_headers(runtime), "User-Agent": "probe/1", "X-AgentOS-Source": "web"}
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=LOCAL) as client:
        cold = client.post(
            ACTION, json=_ack(_event(runtime)), headers=headers | {"X-Trace-Id": "a1"}
        )
        warm = client.post(
            ACTION, json=_ack(_event(runtime)), headers=headers | {"X-Trace-Id": "a2"}
        )
    assert answered == [False, True]  # a token seen the first time goes to the full route
    for response in (cold, warm):
        assert response.status_code == 200, response.text
        assert response.json()["data"]["result"]["acknowledged_at"] is not None
        assert set(response.json()) == set(cold.json())
        for name in ("ratelimit", "ratelimit-policy", "x-trace-id", "content-security-policy"):
            assert name in response.headers, name
    full, edge = _audit_of(runtime, "a1"), _audit_of(runtime, "a2")
    for record in (full, edge):
        assert (record.source, record.ip, record.user_agent, record.outcome) == (
            "web",
            "127.0.0.1",
            "probe/1",
            "success",
        )
    assert edge.actor_id == full.actor_id


def test_refusals_at_the_edge_answer_as_the_full_route_does(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = _action_calls(monkeypatch)
    headers = _headers(runtime)
    with _warm_action_client(runtime, headers) as client:
        unknown = client.post(ACTION, json={"action": "no.such", "payload": {}}, headers=headers)
        extra = client.post(ACTION, json={**_ack(_event(runtime)), "x": 1}, headers=headers)
        invalid = client.post(
            ACTION, json={"action": "dashboard.alert.ack", "payload": {}}, headers=headers
        )
    assert answered[1:] == [True, True, True]
    assert (unknown.status_code, unknown.json()["error_code"]) == (400, "UNKNOWN_ACTION")
    assert (extra.status_code, extra.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert invalid.status_code == 422
    assert unknown.headers["x-trace-id"]
    assert extra.headers["x-trace-id"]


def test_an_idempotent_retry_at_the_edge_is_replayed(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = _action_calls(monkeypatch)
    headers = _headers(runtime)
    body = _ack(_event(runtime))
    with _warm_action_client(runtime, headers) as client:
        first = client.post(ACTION, json=body, headers={**headers, "Idempotency-Key": "k-1"})
        again = client.post(ACTION, json=body, headers={**headers, "X-Idempotency-Key": "k-1"})
        bad = client.post(ACTION, json=body, headers={**headers, "Idempotency-Key": "\x7f"})
    assert answered[1:] == [True, True, True]
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"]["result"] == first.json()["data"]["result"]
    assert (bad.status_code, bad.json()["error_code"]) == (422, "INVALID_IDEMPOTENCY_KEY")
    with runtime.session() as session:
        acks = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "dashboard.alert.ack")
        ).all()
    assert len(acks) == 3  # the replay ran nothing; the refused key is audited as such


def test_the_admin_action_tier_refuses_at_the_edge(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = _action_calls(monkeypatch)
    with _client_within(runtime, settings, admin_action_per_min=2) as client:
        headers = _headers(runtime)
        statuses = [
            client.post(ACTION, json=_ack(_event(runtime)), headers=headers).status_code
            for _ in range(3)
        ]
        refused = client.post(ACTION, json=_ack(_event(runtime)), headers=headers)
    assert statuses[:2] == [200, 200]
    assert statuses[2] == refused.status_code == 429
    assert refused.json()["error_code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) >= 1
    assert answered[1:] == [True, True, True]


def test_a_disabled_admin_is_refused_at_once_by_the_action_that_disabled_them(
    runtime: Runtime,
) -> None:
    """An action that changes a user drops the caches in this process, so the next action
    of that user (cached a moment ago) is refused, not answered at the edge."""
    target, token = create_user_and_token(runtime, role="admin")
    target_headers = auth_headers(token)
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=LOCAL) as client:
        assert client.post(ACTION, json=_ack(_event(runtime)), headers=target_headers).is_success
        disabled = client.post(
            ACTION,
            json={"action": "user.disable", "payload": {"user_id": str(target)}},
            headers=_headers(runtime),
        )
        refused = client.post(ACTION, json=_ack(_event(runtime)), headers=target_headers)
    assert disabled.status_code == 200, disabled.text
    assert refused.status_code in (401, 403), refused.text
