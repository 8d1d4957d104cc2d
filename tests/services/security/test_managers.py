"""Managers actions, one-time passwords, per-action IP restrictions and denied admin reads
(both deployments)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import AuditRecord, IpAllowEntry, SystemEvent, User
from agentos.errors import UnauthenticatedError
from agentos.server.app import create_app
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.services.security import apikeys, authn, lockout
from agentos.settings import Settings
from tests.services.actions.helpers import audit_rows, prepare, run
from tests.services.actions.servers import serve_many
from tests.support.auth import TEST_PASSWORD, auth_headers, create_user_and_token

SEEN_WITHIN_S = 1.0
LOCAL = ("127.0.0.1", 50000)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime), client=LOCAL) as test_client:
        yield test_client


def _user(runtime: Runtime, user_id: uuid.UUID) -> User:
    with runtime.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def test_user_lifecycle_through_the_actions(runtime: Runtime) -> None:
    prepare(runtime)
    created = run(runtime, "user.create", {"username": "dana", "role": "operator"}).result
    user_id = uuid.UUID(created["user"]["id"])
    assert created["one_time_password"]
    assert created["user"]["must_change_password"] is True
    stored = audit_rows(runtime, "user.create")[-1].result
    assert stored is not None
    assert stored["one_time_password"] == "[Filtered]"  # never in the audit trail

    assert run(runtime, "user.disable", {"user_id": str(user_id)}).result["is_active"] is False
    assert run(runtime, "user.enable", {"user_id": str(user_id)}).result["is_active"] is True
    changed = run(runtime, "user.set_role", {"user_id": str(user_id), "role": "readonly"})
    assert changed.result["role"] == "readonly"

    with runtime.session() as session:
        for _ in range(runtime.settings.lockout_attempts):
            lockout.record_failure(session, username="dana", ip=None)
    with runtime.session() as session:
        assert lockout.is_locked(session, username="dana", ip=None)
    run(runtime, "user.unlock", {"user_id": str(user_id)})
    with runtime.session() as session:
        assert not lockout.is_locked(session, username="dana", ip=None)

    with runtime.session() as session:
        pair = authn.login(session, username="dana", password=created["one_time_password"])
        _, secret = apikeys.create(session, user_id=user_id, name="k", scopes=[])
    revoked = run(runtime, "user.tokens.revoke", {"user_id": str(user_id)}).result
    assert (revoked["refresh_tokens"], revoked["api_keys"]) == (1, 1)
    with runtime.session() as session, pytest.raises(UnauthenticatedError):
        authn.refresh(session, refresh_token=pair.refresh_token)
    with runtime.session() as session, pytest.raises(UnauthenticatedError):
        apikeys.authenticate(session, secret)


def test_api_key_created_by_the_action_authenticates_until_revoked(
    runtime: Runtime, client: TestClient
) -> None:
    owner, _ = create_user_and_token(runtime, role="user")
    created = run(
        runtime,
        "apikey.create",
        {"user_id": str(owner), "name": "ci", "scopes": ["agent"], "expires_in_days": 30},
        key="key-once",
    )
    secret = created.result["secret"]
    assert secret.startswith("ak_")
    replay = run(
        runtime,
        "apikey.create",
        {"user_id": str(owner), "name": "ci", "scopes": ["agent"], "expires_in_days": 30},
        key="key-once",
    )
    assert replay.replayed is True
    assert replay.result["secret"] == "[Filtered]"  # shown once: not even on a replay

    assert client.get("/api/jobs/history", headers=auth_headers(secret)).status_code == 200
    run(runtime, "apikey.revoke", {"key_id": created.result["key"]["id"]})
    refused = client.get("/api/jobs/history", headers=auth_headers(secret))
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "API_KEY_REVOKED"


def test_ipallow_add_and_remove(runtime: Runtime) -> None:
    added = run(runtime, "ipallow.add", {"cidr": "10.20.30.40/16", "note": "vpn"}).result
    assert added["cidr"] == "10.20.0.0/16"
    with runtime.session() as session:
        assert session.scalars(select(IpAllowEntry.cidr)).all() == ["10.20.0.0/16"]
    removed = run(runtime, "ipallow.remove", {"cidr": "10.20.0.0/16"}).result
    assert removed == {"cidr": "10.20.0.0/16", "removed": True}
    with pytest.raises(Exception) as invalid:
        run(runtime, "ipallow.add", {"cidr": "nonsense"})
    assert getattr(invalid.value, "code", None) == "VALIDATION_ERROR"


def test_a_one_time_password_only_changes_the_password(
    runtime: Runtime, client: TestClient
) -> None:
    created = run(runtime, "user.create", {"username": "erin", "role": "admin"}).result
    one_time = created["one_time_password"]
    login = client.post("/api/auth/login", json={"username": "erin", "password": one_time})
    assert login.status_code == 200
    pair = login.json()["data"]
    assert pair["must_change_password"] is True
    headers = auth_headers(pair["access_token"])
    for method, path in (("GET", "/api/jobs/history"), ("GET", "/api/admin/ssot")):
        refused = client.request(method, path, headers=headers)
        assert refused.status_code == 403, path
        assert refused.json()["error_code"] == "PASSWORD_CHANGE_REQUIRED"
    action = client.post(
        "/api/admin/action", json={"action": "queue.pause", "payload": {}}, headers=headers
    )
    assert action.status_code == 403

    wrong = client.post(
        "/api/auth/password",
        json={"current_password": "nope", "new_password": "a brand new password"},
        headers=headers,
    )
    assert wrong.status_code == 401
    changed = client.post(
        "/api/auth/password",
        json={"current_password": one_time, "new_password": "a brand new password"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()["data"]
    assert fresh["must_change_password"] is False
    assert client.get("/api/jobs/history", headers=auth_headers(fresh["access_token"])).is_success
    assert client.get("/api/jobs/history", headers=headers).status_code == 401  # old login ended


def test_an_action_restricted_to_other_networks_is_denied_and_audited(
    runtime: Runtime, client: TestClient
) -> None:
    run(
        runtime,
        "config.set",
        {"key": "action_ip_restrictions", "value": {"queue.pause": ["10.0.0.0/8"]}},
    )
    headers = auth_headers(create_user_and_token(runtime, role="admin")[1])
    refused = client.post(
        "/api/admin/action", json={"action": "queue.pause", "payload": {}}, headers=headers
    )
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "ACTION_IP_NOT_ALLOWED"
    assert [row.outcome for row in audit_rows(runtime, "queue.pause")] == ["denied"]
    allowed = client.post(
        "/api/admin/action", json={"action": "queue.resume", "payload": {}}, headers=headers
    )
    assert allowed.status_code == 200
    with runtime.session() as session:
        kinds = session.scalars(select(SystemEvent.kind).where(SystemEvent.source == "security"))
        assert "action_denied" in list(kinds)


def test_denied_admin_reads_are_audited(runtime: Runtime, client: TestClient) -> None:
    headers = auth_headers(create_user_and_token(runtime, role="user", username="mallory")[1])
    assert client.get("/api/admin/ssot", headers=headers).status_code == 403
    assert client.get("/api/admin/action/status", headers=headers).status_code == 403
    assert client.get("/api/admin/managers", headers=headers).status_code == 403
    with runtime.session() as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.actor_name == "mallory").order_by(AuditRecord.seq)
        ).all()
    assert [(row.action, row.outcome) for row in rows] == [
        ("read:ssot", "denied"),
        ("read:action.status", "denied"),
        ("read:managers", "denied"),
    ]


def test_managers_view_lists_users_keys_allowlist_and_lockouts(
    runtime: Runtime, client: TestClient
) -> None:
    owner, token = create_user_and_token(runtime, role="admin", username="root-admin")
    run(runtime, "apikey.create", {"user_id": str(owner), "name": "ops"})
    run(runtime, "ipallow.add", {"cidr": "192.0.2.0/24"})
    with runtime.session() as session:
        lockout.record_failure(session, username="ghost", ip="203.0.113.9")
    view = client.get("/api/admin/managers", headers=auth_headers(token)).json()["data"]
    assert "root-admin" in [user["username"] for user in view["users"]]
    assert [key["name"] for key in view["api_keys"]] == ["ops"]
    assert "secret" not in str(view["api_keys"])
    assert "key_hash" not in str(view)
    assert [entry["cidr"] for entry in view["ip_allowlist"]] == ["192.0.2.0/24"]
    assert {(item["scope"], item["subject"]) for item in view["lockouts"]} == {
        ("user", "ghost"),
        ("ip", "203.0.113.9"),
    }


@pytest.mark.slow
def test_a_user_disabled_in_one_server_is_refused_by_another_within_a_second(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)
    admin = auth_headers(create_user_and_token(runtime, role="admin")[1])
    user_id, token = create_user_and_token(runtime, role="operator")
    reader = auth_headers(token)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with serve_many(settings, logs) as (first, second):
        assert httpx.get(f"{second}/api/admin/ssot", headers=reader).status_code == 200  # cached
        disabled = httpx.post(
            f"{first}/api/admin/action",
            json={"action": "user.disable", "payload": {"user_id": str(user_id)}},
            headers=admin,
        )
        assert disabled.status_code == 200, disabled.text
        started = time.monotonic()
        status = 200
        while status == 200 and time.monotonic() - started < SEEN_WITHIN_S + 3:
            status = httpx.get(f"{second}/api/admin/ssot", headers=reader).status_code
        took = time.monotonic() - started
    assert status == 401
    assert took <= SEEN_WITHIN_S, f"the second server still accepted it after {took:.2f} s"
    assert _user(runtime, user_id).is_active is False


def test_the_password_change_is_refused_to_api_keys(runtime: Runtime, client: TestClient) -> None:
    owner, _ = create_user_and_token(runtime, role="user")
    secret = run(runtime, "apikey.create", {"user_id": str(owner), "name": "k"}).result["secret"]
    refused = client.post(
        "/api/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": "another long one"},
        headers=auth_headers(secret),
    )
    assert refused.status_code == 401
