"""User-API paths the per-domain API tests leave out: success paths and documented errors."""
# ruff: noqa: F811  (pytest fixtures imported from jobs_api_support)

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentos.schemas.common import MAX_PAGE
from agentos.services import jobs
from agentos.services.jobs import counts
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.server.jobs_api_support import Caller, alice, bob, client, operator, readonly  # noqa: F401

DATA = b"gap-test-bytes" * 100


def finalised_upload(client: TestClient, caller: Caller, *, finalize: bool = True) -> str:
    """A one-chunk upload of DATA, finalised without a job unless `finalize` is False."""
    body = {"filename": "gap.mp4", "total_size": len(DATA),
            "sha256": hashlib.sha256(DATA).hexdigest(), "chunk_size": 1 << 20}  # fmt: skip
    created = client.post("/api/upload/init", json=body, headers=caller.headers)
    assert created.status_code == 201, created.text
    upload = created.json()["data"]
    # A chunk_size over the file's size makes one chunk of the file's size.
    assert (upload["total_chunks"], upload["chunk_size"]) == (1, len(DATA))
    sent = client.post("/api/upload/chunk", params={"upload_id": upload["id"], "index": 0},
                       content=DATA, headers=caller.headers)  # fmt: skip
    assert sent.status_code == 200, sent.text
    if finalize:
        done = client.post("/api/upload/finalize", json={"upload_id": upload["id"],
                           "create_job": False}, headers=caller.headers)  # fmt: skip
        assert done.status_code == 200, done.text
        assert done.json()["data"]["job_id"] is None
    return str(upload["id"])


def error_code(response: Any) -> str:
    code: str = response.json()["error_code"]
    return code


def test_create_job_from_a_finalised_upload(client: TestClient, alice: Caller, bob: Caller,
                                             readonly: Caller) -> None:  # fmt: skip
    upload_id = finalised_upload(client, alice)
    body = {"upload_id": upload_id, "title": "Gap", "priority": 7,
            "options": {"min_clip_s": 2, "max_clip_s": 9}}  # fmt: skip
    created = client.post("/api/jobs/create", json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    job = created.json()["data"]
    assert (job["title"], job["priority"], job["status"]) == ("Gap", 7, "queued")
    assert job["options"] == {"min_clip_s": 2.0, "max_clip_s": 9.0}
    assert job["upload_id"] == upload_id
    assert client.get(f"/api/jobs/{job['id']}", headers=alice.headers).status_code == 200
    # Someone else's upload does not exist for them; readonly users cannot create jobs.
    other = client.post("/api/jobs/create", json=body, headers=bob.headers)
    assert (other.status_code, error_code(other)) == (404, "UPLOAD_NOT_FOUND")
    denied = client.post("/api/jobs/create", json=body, headers=readonly.headers)
    assert denied.status_code == 403


def test_create_job_needs_the_upload_finalised(client: TestClient, alice: Caller) -> None:
    upload_id = finalised_upload(client, alice, finalize=False)
    response = client.post("/api/jobs/create", json={"upload_id": upload_id}, headers=alice.headers)
    assert (response.status_code, error_code(response)) == (409, "UPLOAD_NOT_FINALIZED")


def test_chunk_after_finalize_conflicts_and_readonly_cannot_upload(
    client: TestClient, alice: Caller, readonly: Caller
) -> None:
    upload_id = finalised_upload(client, alice)
    late = client.post("/api/upload/chunk", params={"upload_id": upload_id, "index": 0},
                       content=DATA, headers=alice.headers)  # fmt: skip
    assert (late.status_code, error_code(late)) == (409, "UPLOAD_NOT_OPEN")
    body = {"filename": "x.mp4", "total_size": 10, "sha256": "0" * 64, "chunk_size": 10}
    assert client.post("/api/upload/init", json=body, headers=readonly.headers).status_code == 403
    listed = client.get("/api/upload", headers=alice.headers).json()
    assert [u["id"] for u in listed["data"]] == [upload_id]
    missing = client.get(f"/api/upload/status/{uuid.uuid4()}", headers=alice.headers)
    assert (missing.status_code, error_code(missing)) == (404, "UPLOAD_NOT_FOUND")


@pytest.mark.parametrize(
    "path", ["/api/jobs/create", "/api/agents/config", "/api/agents/clear-queue",
             "/api/upload/init", "/api/upload/finalize", "/api/auth/login"],
)  # fmt: skip
def test_malformed_json_is_400(client: TestClient, operator: Caller, path: str) -> None:
    # Bytes that are not even text: FastAPI answers 400 (a JSON syntax error is a 422).
    response = client.post(path, content=b"\xb3\x01{", headers={
        **operator.headers, "Content-Type": "application/json"})  # fmt: skip
    assert (response.status_code, error_code(response)) == (400, "BAD_REQUEST")


def test_history_filters_and_errors(client: TestClient, alice: Caller, bob: Caller) -> None:
    first = alice.job("failed", title="alpha")
    alice.job(title="beta")
    now = datetime.now(UTC)
    window = {"created_from": (now - timedelta(hours=1)).isoformat(),
              "created_to": (now + timedelta(hours=1)).isoformat()}  # fmt: skip
    both = client.get("/api/jobs/history", params=window, headers=alice.headers).json()
    assert both["pagination"]["total"] == 2
    later = {"created_from": (now + timedelta(hours=1)).isoformat()}
    assert client.get("/api/jobs/history", params=later,
                      headers=alice.headers).json()["pagination"]["total"] == 0  # fmt: skip
    failed = client.get("/api/jobs/history", params={"status": "failed"}, headers=alice.headers)
    assert [job["id"] for job in failed.json()["data"]] == [str(first)]
    foreign = client.get("/api/jobs/history", params={"user_id": str(alice.id)},
                         headers=bob.headers)  # fmt: skip
    assert (foreign.status_code, error_code(foreign)) == (404, "USER_NOT_FOUND")
    for params in ({"page": MAX_PAGE + 1}, {"per_page": 501}, {"status": "asleep"},
                   {"created_from": "yesterday"}):  # fmt: skip
        response = client.get("/api/jobs/history", params=params, headers=alice.headers)
        assert response.status_code == 422, params
    deep = client.get("/api/jobs/history", params={"page": MAX_PAGE}, headers=alice.headers)
    assert deep.status_code == 200
    assert deep.json()["data"] == []


def test_job_actions_on_unknown_or_unfit_jobs(client: TestClient, alice: Caller,
                                              operator: Caller) -> None:  # fmt: skip
    unknown = uuid.uuid4()
    for path, body in [(f"/api/jobs/{unknown}/retry", None), (f"/api/jobs/{unknown}/cancel", None),
                       (f"/api/jobs/{unknown}/status", {"status": "failed"})]:  # fmt: skip
        response = client.post(path, json=body, headers=operator.headers)
        assert (response.status_code, error_code(response)) == (404, "JOB_NOT_FOUND"), path
    queued = alice.job()
    retry = client.post(f"/api/jobs/{queued}/retry", headers=alice.headers)
    assert (retry.status_code, error_code(retry)) == (409, "INVALID_TRANSITION")


def test_agent_endpoints_on_unknown_agents_and_roles(
    client: TestClient, operator: Caller, alice: Caller
) -> None:
    for method, path, body in [
        ("POST", "/api/agents/nope/start", None),
        ("POST", "/api/agents/nope/stop", None),
        ("GET", "/api/agents/logs/nope", None),
        ("GET", "/api/agents/queue/nope", None),
        ("GET", "/api/agents/config?agent=nope", None),
        ("POST", "/api/agents/config", {"agent": "nope", "config": {}}),
        ("POST", "/api/agents/clear-queue", {"agent": "nope"}),
    ]:
        response = client.request(method, path, json=body, headers=operator.headers)
        assert (response.status_code, error_code(response)) == (404, "AGENT_NOT_FOUND"), path
    for path, body in [("/api/agents/restart", None), ("/api/agents/scenes/start", None),
                       ("/api/agents/clear-queue", {"agent": "scenes"})]:  # fmt: skip
        response = client.post(path, json=body, headers=alice.headers)
        assert (response.status_code, error_code(response)) == (403, "PERMISSION_DENIED"), path


def test_unfiltered_total_is_cached_and_dropped_on_create(
    settings: Settings, runtime: Runtime, client: TestClient, alice: Caller, operator: Caller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # A long TTL, so only the invalidation (not the clock) can change the answer.
    monkeypatch.setattr(counts, "COUNT_TTL_S", 600.0)
    alice.job()

    def history(caller: Caller, **params: Any) -> dict[str, Any]:
        response = client.get("/api/jobs/history", params=params, headers=caller.headers)
        pagination: dict[str, Any] = response.json()["pagination"]
        return pagination

    # Staff lists of every job add up the rollups: exact at every answer, never cached.
    for params in ({}, {}, {"status": "queued"}):
        staff = history(operator, **params)
        assert (staff["total"], staff["total_counted_at"]) == (1, None)
    # One owner's list is counted once and kept.
    assert history(alice)["total_counted_at"] is None
    assert history(alice)["total_counted_at"] is not None
    with runtime.session() as session:
        job_id = jobs.create(session, actor=alice.actor, title="new", source_path=None).id
    assert (history(operator)["total"], history(alice)["total"]) == (2, 2)
    with runtime.session() as session:
        jobs.cancel(session, job_id=job_id, actor=alice.actor)  # a status change keeps the total
    assert history(alice)["total_counted_at"] is not None
    with runtime.session() as session:
        jobs.delete(session, job_id=job_id, actor=operator.actor)
    assert (history(operator)["total"], history(alice)["total"]) == (1, 1)
