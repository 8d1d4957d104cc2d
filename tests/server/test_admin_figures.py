"""`GET /api/admin/ssot/figures`: who may read it (denials audited), the parts and the
group listing asked for, on both deployments (the figures themselves:
tests/services/actions/test_figures_read.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import AuditRecord
from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.figures import seed_figures

PATH = "/api/admin/ssot/figures"
LOCAL = ("127.0.0.1", 50000)
OUTSIDE = ("203.0.113.9", 50000)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    seed_figures(runtime, datetime.now(UTC))
    with TestClient(create_app(runtime, runner=lambda _runtime: None), client=LOCAL) as http:
        yield http


def _headers(runtime: Runtime, role: str, username: str | None = None) -> dict[str, str]:
    return auth_headers(create_user_and_token(runtime, role=role, username=username)[1])


def _denials(runtime: Runtime, username: str) -> list[tuple[str, str, str | None]]:
    with runtime.session() as session:
        rows = session.execute(
            select(AuditRecord.action, AuditRecord.outcome, AuditRecord.error_code).where(
                AuditRecord.actor_name == username
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_requires_a_token(client: TestClient) -> None:
    answer = client.get(PATH)
    assert answer.status_code == 401
    assert answer.json()["error_code"] == "AUTH_REQUIRED"


def test_a_user_is_refused_and_the_refusal_audited(client: TestClient, runtime: Runtime) -> None:
    answer = client.get(PATH, headers=_headers(runtime, "user", "mallory"))
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"
    assert _denials(runtime, "mallory") == [("read:figures", "denied", "PERMISSION_DENIED")]


def test_an_address_outside_the_allow_list_is_refused(client: TestClient, runtime: Runtime) -> None:
    headers = _headers(runtime, "admin", "far-admin")
    with TestClient(create_app(runtime, runner=lambda _runtime: None), client=OUTSIDE) as far:
        answer = far.get(PATH, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "IP_NOT_ALLOWED"
    assert _denials(runtime, "far-admin") == [("read:figures", "denied", "IP_NOT_ALLOWED")]


@pytest.mark.parametrize("role", ["admin", "operator", "supervisor", "readonly"])
def test_admin_readers_get_every_part(client: TestClient, runtime: Runtime, role: str) -> None:
    answer = client.get(PATH, headers=_headers(runtime, role))
    assert answer.status_code == 200, answer.text
    assert "ratelimit" in answer.headers  # the admin-read tier
    data = answer.json()["data"]
    assert data["failures"]["failed_jobs"] == 1500
    assert [group["jobs"] for group in data["failures"]["groups"]] == [700, 500, 300]
    assert (data["retries"]["waiting"], data["retries"]["due"]) == (3, 1)
    assert len(data["agents"]["agents"]) == 6
    assert data["failures"]["group_jobs"] == []


def test_parts_and_a_groups_jobs(client: TestClient, runtime: Runtime) -> None:
    headers = _headers(runtime, "admin")
    answer = client.get(
        PATH, params={"part": ["failures"], "error_code": "PROBE_FAILED"}, headers=headers
    )
    data = answer.json()["data"]
    assert data["retries"] is None
    assert data["agents"] is None
    assert data["failures"]["error_code"] == "PROBE_FAILED"
    assert len(data["failures"]["group_jobs"]) == 200
    assert {job["error_code"] for job in data["failures"]["group_jobs"]} == {"PROBE_FAILED"}
    nocode = client.get(PATH, params={"part": "failures", "error_code": ""}, headers=headers)
    assert {job["error_code"] for job in nocode.json()["data"]["failures"]["group_jobs"]} == {None}
    unknown = client.get(PATH, params={"part": "everything"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["error_code"] == "VALIDATION_ERROR"
