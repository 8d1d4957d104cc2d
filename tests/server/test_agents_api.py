"""The 12 agent endpoints: real switches, validated config, figures, errors."""
# ruff: noqa: F811  (pytest fixtures imported from jobs_api_support)

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agentos.services import agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.server.jobs_api_support import Caller, alice, client, operator, readonly  # noqa: F401

READS = ["/api/agents/status", "/api/agents/performance", "/api/agents/health",
         "/api/agents/config", "/api/agents/scenes", "/api/agents/logs/scenes",
         "/api/agents/queue/ingest"]  # fmt: skip


@pytest.mark.parametrize("path", READS)
def test_reads_need_auth_and_answer(client: TestClient, operator: Caller, path: str) -> None:
    assert client.get(path).status_code == 401
    response = client.get(path, headers=operator.headers)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True


def test_stop_start_obeyed(settings: Settings, runtime: Runtime, client: TestClient, operator: Caller,
                           alice: Caller) -> None:  # fmt: skip
    job = alice.job()
    assert client.post("/api/agents/ingest/stop", headers=alice.headers).status_code == 403
    stopped = client.post("/api/agents/ingest/stop", headers=operator.headers).json()["data"]
    assert stopped["enabled"] is False
    assert stopped["queue_depth"] == 1
    with runtime.session() as session:
        assert "ingest" not in agents.claimable_agents(session)
    queue = client.get("/api/agents/queue/ingest", headers=operator.headers).json()
    assert [w["job_id"] for w in queue["data"]] == [str(job)]
    logs = client.get("/api/agents/logs/ingest", headers=operator.headers).json()
    assert any(entry["kind"] == "event" for entry in logs["data"])
    started = client.post(f"/api/agents/{stopped['id']}/start", headers=operator.headers)
    assert started.json()["data"]["enabled"] is True
    restarted = client.post("/api/agents/restart", headers=operator.headers).json()["data"]
    assert len(restarted) == 6
    assert client.get("/api/agents/nope", headers=operator.headers).status_code == 404


def test_config_update_and_validation(
    client: TestClient, operator: Caller, readonly: Caller
) -> None:
    body = {"agent": "clipper", "config": {"min_clip_s": 3, "max_clip_s": 20}}
    assert client.post("/api/agents/config", json=body, headers=readonly.headers).status_code == 403
    updated = client.post("/api/agents/config", json=body, headers=operator.headers)
    assert updated.json()["data"]["config"]["max_clip_s"] == 20
    read = client.get("/api/agents/config", params={"agent": "clipper"}, headers=operator.headers)
    assert read.json()["data"][0]["config"]["min_clip_s"] == 3
    for config in ({"min_clip_s": 30}, {"speed": 2}):
        bad = client.post("/api/agents/config", json={"agent": "clipper", "config": config},
                          headers=operator.headers)  # fmt: skip
        assert bad.status_code == 422
        assert bad.json()["error_code"] == "INVALID_AGENT_CONFIG"


def test_clear_queue_and_performance(client: TestClient, operator: Caller, alice: Caller) -> None:
    jobs = [alice.job() for _ in range(2)]
    alice.job("completed")
    body = {"agent": "ingest", "dry_run": True}
    dry = client.post("/api/agents/clear-queue", json=body, headers=operator.headers).json()["data"]
    assert dry["count"] == 2
    body["dry_run"] = False
    real = client.post("/api/agents/clear-queue", json=body, headers=operator.headers).json()[
        "data"
    ]
    assert sorted(real["job_ids"]) == sorted(map(str, jobs))
    perf = client.get("/api/agents/performance", params={"hours": 1}, headers=operator.headers)
    figures = {p["agent"]: p for p in perf.json()["data"]}
    assert figures["publish"]["completed"] == 1
    assert client.get("/api/agents/performance", params={"hours": 0},
                      headers=operator.headers).status_code == 422  # fmt: skip
