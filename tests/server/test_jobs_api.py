"""The 12 job endpoints: success paths, documented errors, ownership."""
# ruff: noqa: F811  (pytest fixtures imported from jobs_api_support)

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.server.jobs_api_support import Caller, alice, bob, client, operator, readonly  # noqa: F401

LIST_PATHS = ["/api/jobs/history", "/api/jobs/status/queued", "/api/jobs/today",
              "/api/jobs/summary/stats", "/api/jobs/recent/5"]  # fmt: skip


@pytest.mark.parametrize("path", [*LIST_PATHS, "/api/jobs/5f0c2a9e-3b1d-4c6e-9a7f-2d8b1e4c6a90"])
def test_auth_required(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["success"] is False


def test_lists_and_reads(client: TestClient, alice: Caller, bob: Caller) -> None:
    mine = [alice.job(title=f"a{i}") for i in range(3)]
    failed = alice.job("failed")
    bob.job()
    history = client.get("/api/jobs/history", params={"per_page": 2}, headers=alice.headers)
    assert history.status_code == 200
    body = history.json()
    assert body["pagination"]["total"] == 4
    assert body["pagination"]["has_next"] is True
    assert len(body["data"]) == 2
    assert {"id", "status", "created_at"} <= set(body["data"][0])
    by_status = client.get("/api/jobs/status/failed", headers=alice.headers).json()
    assert [j["id"] for j in by_status["data"]] == [str(failed)]
    filtered = client.get("/api/jobs/history", params={"status": ["queued"], "search": "a1"},
                          headers=alice.headers).json()  # fmt: skip
    assert [j["id"] for j in filtered["data"]] == [str(mine[1])]
    recent = client.get("/api/jobs/recent/2", headers=alice.headers).json()["data"]
    assert [j["id"] for j in recent] == [str(failed), str(mine[2])]
    stats = client.get("/api/jobs/summary/stats", headers=alice.headers).json()["data"]
    assert stats["by_status"]["queued"] == 3
    assert stats["total"] == 4
    today = client.get("/api/jobs/today", headers=alice.headers).json()["data"]
    assert today["stats"]["total"] == 4
    detail = client.get(f"/api/jobs/{failed}", headers=alice.headers).json()["data"]
    assert detail["steps"][0]["error"] == "boom"
    assert client.get(f"/api/jobs/{failed}/clips", headers=alice.headers).json()["data"] == []
    mine_by_user = client.get(f"/api/jobs/user/{alice.id}", headers=alice.headers).json()
    assert mine_by_user["pagination"]["total"] == 4


def test_history_sorts_on_the_server(client: TestClient, alice: Caller) -> None:
    made = [alice.job(title=f"t{i}") for i in range(3)]
    params: dict[str, str | int] = {"sort": "title", "order": "asc", "per_page": 2, "page": 2}
    second = client.get("/api/jobs/history", params=params, headers=alice.headers).json()
    assert [job["id"] for job in second["data"]] == [str(made[2])]
    params["sort"] = "password"
    refused = client.get("/api/jobs/history", params=params, headers=alice.headers)
    assert refused.status_code == 422


@pytest.mark.parametrize(
    "path", ["/api/jobs/recent/0", "/api/jobs/recent/501", "/api/jobs/recent/x",
             "/api/jobs/status/sleeping", "/api/jobs/not-a-uuid", "/api/jobs/user/123"],
)  # fmt: skip
def test_bad_path_values(client: TestClient, alice: Caller, path: str) -> None:
    response = client.get(path, headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["error_code"] == "VALIDATION_ERROR"


def test_ownership(client: TestClient, alice: Caller, bob: Caller, operator: Caller) -> None:
    job = alice.job()
    for method, path in [("GET", f"/api/jobs/{job}"), ("GET", f"/api/jobs/{job}/clips"),
                         ("POST", f"/api/jobs/{job}/cancel"), ("POST", f"/api/jobs/{job}/retry")]:  # fmt: skip
        response = client.request(method, path, headers=bob.headers)
        assert response.status_code == 404, path
        assert response.json()["error_code"] == "JOB_NOT_FOUND"
    assert client.get(f"/api/jobs/user/{alice.id}", headers=bob.headers).status_code == 404
    assert client.get("/api/jobs/history", headers=bob.headers).json()["pagination"]["total"] == 0
    staff = client.get(f"/api/jobs/user/{alice.id}", headers=operator.headers).json()
    assert staff["pagination"]["total"] == 1
    assert client.get(f"/api/jobs/{job}", headers=operator.headers).status_code == 200


def test_queue_and_agent_reads_show_users_their_own_work_only(
    client: TestClient, alice: Caller, bob: Caller, operator: Caller
) -> None:
    """`/api/queue/details`, `/api/agents/queue/{agent}` and `/api/agents/logs/{agent}`
    showed every owner's jobs (id, title, owner) to any user."""
    mine, theirs = alice.job(title="alice's"), bob.job(title="bob's")

    def job_ids(caller: Caller, path: str) -> set[str]:
        body = client.get(path, headers=caller.headers).json()
        return {row["job_id"] for row in body["data"] if row.get("job_id")}

    for path in ("/api/queue/details", "/api/agents/queue/ingest", "/api/agents/logs/ingest"):
        assert job_ids(alice, path) == {str(mine)}, path
        assert job_ids(bob, path) == {str(theirs)}, path
        assert job_ids(operator, path) == {str(mine), str(theirs)}, path


def test_cancel_retry(client: TestClient, alice: Caller, readonly: Caller) -> None:
    job = alice.job("processing")
    assert client.post(f"/api/jobs/{job}/cancel", headers=readonly.headers).status_code == 403
    cancelled = client.post(f"/api/jobs/{job}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "cancelled"
    again = client.post(f"/api/jobs/{job}/cancel", headers=alice.headers)
    assert again.status_code == 409
    assert again.json()["error_code"] == "INVALID_TRANSITION"
    retried = client.post(f"/api/jobs/{job}/retry", headers=alice.headers).json()["data"]
    assert (retried["status"], retried["attempts"]) == ("queued", 2)
    assert client.get(f"/api/jobs/{job}/retry", headers=alice.headers).status_code == 405


def test_status_reports(client: TestClient, alice: Caller, operator: Caller) -> None:
    job = alice.job()
    url = f"/api/jobs/{job}/status"
    denied = client.post(url, json={"stage": "ingest", "state": "started"}, headers=alice.headers)
    assert denied.status_code == 403
    started = client.post(
        url, json={"stage": "ingest", "state": "started"}, headers=operator.headers
    )
    assert started.json()["data"]["status"] == "processing"
    bad = client.post(url, json={"stage": "ingest"}, headers=operator.headers)
    assert bad.status_code == 422
    forced = client.post(url, json={"status": "completed"}, headers=operator.headers)
    assert forced.json()["data"]["status"] == "completed"
    illegal = client.post(url, json={"status": "processing"}, headers=operator.headers)
    assert illegal.status_code == 409


def test_create_needs_finalised_upload(client: TestClient, alice: Caller) -> None:
    missing = client.post("/api/jobs/create", json={"upload_id": str(uuid.uuid4())},
                          headers=alice.headers)  # fmt: skip
    assert missing.status_code == 404
    invalid = client.post("/api/jobs/create", json={"upload_id": "x"}, headers=alice.headers)
    assert invalid.status_code == 422
    bounds = {"upload_id": str(uuid.uuid4()), "options": {"min_clip_s": 9, "max_clip_s": 3}}
    assert client.post("/api/jobs/create", json=bounds, headers=alice.headers).status_code == 422
