"""Queue (3), clips (2) and analytics endpoints."""
# ruff: noqa: F811  (pytest fixtures imported from jobs_api_support)

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from agentos.db.models import Clip
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.server.jobs_api_support import Caller, alice, bob, client, operator  # noqa: F401


def test_queue_endpoints(client: TestClient, operator: Caller, alice: Caller) -> None:
    for path in ("/api/queue/status", "/api/queue/details", "/api/queue/stats"):
        assert client.get(path).status_code == 401
    alice.job()
    alice.job("processing")
    status = client.get("/api/queue/status", headers=alice.headers).json()["data"]
    assert (status["queued"], status["processing"], status["paused"]) == (1, 1, False)
    details = client.get("/api/queue/details", params={"per_page": 1}, headers=operator.headers)
    assert details.json()["pagination"]["total"] == 2
    assert details.json()["data"][0]["status"] == "running"
    assert client.get("/api/queue/details", params={"per_page": 0},
                      headers=operator.headers).status_code == 422  # fmt: skip
    stats = client.get("/api/queue/stats", headers=operator.headers).json()["data"]
    assert stats["window_hours"] == 24


def test_clip_endpoints(
    settings: Settings, runtime: Runtime, client: TestClient, alice: Caller, bob: Caller
) -> None:
    job = alice.job("completed")
    with runtime.session() as session:
        clip = Clip(job_id=job, ordinal=0, start=1.0, end=3.5, duration=2.5, width=640, height=360)
        session.add(clip)
        session.flush()
        clip_id = clip.id
    mine = client.get(f"/api/clips/{clip_id}", headers=alice.headers).json()["data"]
    assert (mine["start"], mine["end"], mine["duration"], mine["resolution"]) == (
        1.0,
        3.5,
        2.5,
        "640x360",
    )
    assert client.get(f"/api/clips/{clip_id}", headers=bob.headers).status_code == 404
    assert client.get(f"/api/clips/{uuid.uuid4()}", headers=alice.headers).status_code == 404
    assert client.get("/api/clips/not-a-uuid", headers=alice.headers).status_code == 422
    recent = client.get("/api/clips/recent", headers=alice.headers).json()["data"]
    assert [c["id"] for c in recent] == [str(clip_id)]
    assert client.get("/api/clips/recent", headers=bob.headers).json()["data"] == []
    assert (
        client.get("/api/clips/recent", params={"limit": 0}, headers=bob.headers).status_code == 422
    )
    clips = client.get(f"/api/jobs/{job}/clips", headers=alice.headers).json()["data"]
    assert clips[0]["id"] == str(clip_id)


def test_analytics_counts_requests(client: TestClient, alice: Caller) -> None:
    assert client.get("/api/analytics/metrics").status_code == 401
    for _ in range(3):
        assert client.get("/api/jobs/recent/5", headers=alice.headers).status_code == 200
    client.get(f"/api/jobs/{uuid.uuid4()}", headers=alice.headers)
    data = client.get("/api/analytics/metrics", headers=alice.headers).json()["data"]
    routes = {(e["method"], e["route"]): e for e in data["endpoints"]}
    recent = routes[("GET", "/api/jobs/recent/{limit}")]
    assert recent["requests"] == 3
    assert recent["rate_4xx"] == 0
    assert recent["p50_ms"] is not None
    assert routes[("GET", "/api/jobs/{job_id}")]["rate_4xx"] == 1.0
    assert len(data["jobs"]["throughput_per_hour"]) == 24
