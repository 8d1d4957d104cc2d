"""Login, refresh rotation and reuse, bearer tokens and API keys over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import ApiKey, SystemEvent
from agentos.errors import InvalidError
from agentos.server.app import create_app
from agentos.server.deps import CurrentActorDep
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.security import apikeys, users
from agentos.settings import Settings
from tests.support.auth import TEST_PASSWORD, auth_headers, create_user_and_token

WHOAMI = "/test/whoami"


def _app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime)

    def whoami(actor: CurrentActorDep) -> dict[str, object]:
        return {"name": actor.name, "role": actor.role, "scopes": sorted(actor.scopes)}

    app.add_api_route(WHOAMI, whoami, methods=["GET"])
    return app


@pytest.fixture
def cfg(settings: Settings, make_runtime: Callable[[Settings], Runtime]) -> Runtime:
    # Generous public limits: these tests are about credentials, not rate limits.
    return make_runtime(settings.model_copy(update={"ratelimit_public_per_min": 1000}))


@pytest.fixture
def client(cfg: Runtime) -> TestClient:
    # No lifespan: these tests need no background workers.
    return TestClient(_app(cfg))


def _login(client: TestClient, username: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    data: dict[str, str] = response.json()["data"]
    return data


def _security_events(runtime: Runtime, kind: str) -> list[SystemEvent]:
    with runtime.session() as session:
        query = select(SystemEvent).where(
            SystemEvent.source == "security", SystemEvent.kind == kind
        )
        return list(session.scalars(query))


def test_login_success_and_bearer(cfg: Runtime, client: TestClient) -> None:
    create_user_and_token(cfg, role="operator", username="olga")
    data = _login(client, "olga")
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == cfg.settings.access_token_ttl_s
    assert data["refresh_token"].startswith("rt_")
    response = client.get(WHOAMI, headers=auth_headers(data["access_token"]))
    assert response.status_code == 200
    assert response.json() == {"name": "olga", "role": "operator", "scopes": []}


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "AUTH_REQUIRED"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, "AUTH_REQUIRED"),
        ({"Authorization": "Bearer not-a-jwt"}, "TOKEN_INVALID"),
        ({"Authorization": "Bearer ak_000000000000_" + "x" * 43}, "API_KEY_INVALID"),
    ],
)
def test_missing_or_bad_credentials(client: TestClient, headers: dict[str, str], code: str) -> None:
    response = client.get(WHOAMI, headers=headers)
    assert response.status_code == 401
    assert response.json()["error_code"] == code


def test_refresh_token_is_not_an_access_token(cfg: Runtime, client: TestClient) -> None:
    create_user_and_token(cfg, role="user", username="rita")
    data = _login(client, "rita")
    response = client.get(WHOAMI, headers=auth_headers(data["refresh_token"]))
    assert response.status_code == 401
    assert response.json()["error_code"] == "TOKEN_INVALID"


def test_expired_access_token(cfg: Runtime, client: TestClient) -> None:
    user_id, _ = create_user_and_token(cfg, role="user", username="eve")
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {
        "sub": str(user_id),
        "name": "eve",
        "role": "user",
        "ver": 0,
        "typ": "access",
        "iss": cfg.settings.jwt_issuer,
        "aud": cfg.settings.jwt_audience,
        "jti": "x",
        "iat": past,
        "nbf": past,
        "exp": past + timedelta(minutes=15),
    }
    token = jwt.encode(claims, cfg.settings.signing_key(), algorithm=cfg.settings.jwt_algorithm)
    response = client.get(WHOAMI, headers=auth_headers(token))
    assert response.status_code == 401
    assert response.json()["error_code"] == "TOKEN_EXPIRED"


def test_refresh_rotates_and_reuse_revokes_family(cfg: Runtime, client: TestClient) -> None:
    create_user_and_token(cfg, role="user", username="ursula")
    first = _login(client, "ursula")
    rotated = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()["data"]
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get(WHOAMI, headers=auth_headers(second["access_token"])).status_code == 200

    reused = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["error_code"] == "REFRESH_TOKEN_REUSED"
    # The thief's replay also burned the legitimate holder's newer token of that family.
    after = client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["error_code"] == "TOKEN_REVOKED"
    events = _security_events(cfg, "refresh_token_reuse")
    assert len(events) == 1
    assert events[0].severity == "warning"

    # Another login (another family) is unaffected.
    third = _login(client, "ursula")
    again = client.post("/api/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert again.status_code == 200


def test_unknown_refresh_token(client: TestClient) -> None:
    response = client.post("/api/auth/refresh", json={"refresh_token": "rt_nothing"})
    assert response.status_code == 401
    assert response.json()["error_code"] == "TOKEN_INVALID"


def test_access_token_stops_after_disable(cfg: Runtime, client: TestClient) -> None:
    user_id, token = create_user_and_token(cfg, role="supervisor")
    assert client.get(WHOAMI, headers=auth_headers(token)).status_code == 200
    with cfg.session() as session:
        users.disable(session, user_id=user_id)
    response = client.get(WHOAMI, headers=auth_headers(token))
    assert response.status_code == 401
    assert response.json()["error_code"] == "USER_DISABLED"


def test_api_key_create_authenticate_revoke(cfg: Runtime, client: TestClient) -> None:
    user_id, _ = create_user_and_token(cfg, role="operator", username="agent-bot")
    with cfg.session() as session:
        key, secret = apikeys.create(session, user_id=user_id, name="ingest", scopes=["agent"])
    assert secret.startswith(f"ak_{key.prefix}_")
    with cfg.session() as session:
        stored = session.get(ApiKey, key.id)
        assert stored is not None
        assert secret not in (stored.key_hash, stored.prefix)
    response = client.get(WHOAMI, headers=auth_headers(secret))
    assert response.json() == {"name": "agent-bot", "role": "operator", "scopes": ["agent"]}

    tampered = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")
    assert client.get(WHOAMI, headers=auth_headers(tampered)).status_code == 401
    with cfg.session() as session:
        assert apikeys.revoke(session, key_id=key.id).revoked_at is not None
    response = client.get(WHOAMI, headers=auth_headers(secret))
    assert response.status_code == 401
    assert response.json()["error_code"] == "API_KEY_REVOKED"


def test_api_key_refuses_bad_scope(cfg: Runtime) -> None:
    user_id, _ = create_user_and_token(cfg, role="user")
    with cfg.session() as session, pytest.raises(InvalidError):
        apikeys.create(session, user_id=user_id, name="x", scopes=["Bad Scope!"])


def test_actor_carries_request_context(cfg: Runtime) -> None:
    app = create_app(cfg)
    seen: list[Actor] = []

    def capture(actor: CurrentActorDep) -> None:
        seen.append(actor)

    app.add_api_route("/test/capture", capture, methods=["GET"])
    _, token = create_user_and_token(cfg, role="user")
    headers = {**auth_headers(token), "User-Agent": "pytest-ua", "X-Trace-Id": "t-1"}
    assert TestClient(app).get("/test/capture", headers=headers).status_code == 200
    actor = seen[0]
    assert (actor.source, actor.user_agent, actor.trace_id) == ("api", "pytest-ua", "t-1")
    assert actor.ip == "testclient"


def test_a_revoked_login_refuses_its_access_tokens_at_once_everywhere(
    cfg: Runtime, client: TestClient, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """Revoking a refresh-token family (reuse detected) left its access tokens working for
    up to 15 minutes, in this process and in others."""
    create_user_and_token(cfg, role="operator", username="olga")
    first = _login(client, "olga")
    access = auth_headers(first["access_token"])
    other_process = make_runtime(cfg.settings)
    with TestClient(create_app(other_process), client=("127.0.0.1", 5)) as other:
        assert other.get("/api/admin/ssot/dashboard", headers=access).status_code == 200
        assert client.get(WHOAMI, headers=access).status_code == 200
        rotated = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert rotated.status_code == 200
        reused = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reused.json()["error_code"] == "REFRESH_TOKEN_REUSED"
        refused = client.get(WHOAMI, headers=access)
        assert (refused.status_code, refused.json()["error_code"]) == (401, "TOKEN_REVOKED")
        # The other process had the token cached; the announcement drops it there too.
        deadline = time.monotonic() + 1.0
        while other.get("/api/admin/ssot/dashboard", headers=access).status_code == 200:
            assert time.monotonic() < deadline, "the other process still accepts the token"
            time.sleep(0.05)
    # A new login is a new family: it works.
    assert (
        client.get(WHOAMI, headers=auth_headers(_login(client, "olga")["access_token"])).status_code
        == 200
    )
