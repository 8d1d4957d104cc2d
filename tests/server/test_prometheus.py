"""GET /metrics: the Prometheus text format parses, holds the series operators alert on,
is for admin readers (or the allow-list) only, and sums every process of the machine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

LOCAL = ("127.0.0.1", 50000)
OUTSIDE = ("203.0.113.9", 50000)
SERIES = {
    "agentos_http_requests",
    "agentos_http_request_duration_seconds",
    "agentos_ssot_reads",
    "agentos_ssot_build_duration_seconds",
    "agentos_actions",
    "agentos_action_duration_seconds",
    "agentos_rate_limit_refusals",
    "agentos_stage_duration_seconds",
    "agentos_log_records_dropped",
    "agentos_ssot_document_age_seconds",
    "agentos_jobs",
    "agentos_queue_depth",
    "agentos_queue_oldest_wait_seconds",
    "agentos_worker_heartbeat_age_seconds",
    "agentos_workers_online",
    "agentos_breaker_state",
}


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), client=LOCAL) as test_client:
        yield test_client


def test_metrics_parse_and_hold_the_alerting_series(client: TestClient, runtime: Runtime) -> None:
    _, admin = create_user_and_token(runtime, role="admin")
    headers = auth_headers(admin)
    assert client.get("/api/admin/ssot", headers=headers).status_code == 200
    action = {"action": "queue.pause", "payload": {}}
    assert client.post("/api/admin/action", json=action, headers=headers).status_code == 200
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert set(families) >= SERIES
    requests = {
        (sample.labels.get("route"), sample.labels.get("status"))
        for sample in families["agentos_http_requests"].samples
        if sample.name.endswith("_total")
    }
    assert ("/api/admin/ssot", "2xx") in requests
    outcomes = {
        (sample.labels["action"], sample.labels["outcome"])
        for sample in families["agentos_actions"].samples
        if sample.name.endswith("_total")
    }
    assert ("queue.pause", "success") in outcomes
    assert {s.labels["status"] for s in families["agentos_jobs"].samples} >= {"queued", "failed"}


def test_metrics_are_not_a_user_endpoint(client: TestClient, runtime: Runtime) -> None:
    assert client.get("/metrics").status_code == 200  # loopback is on the admin allow-list
    _, user = create_user_and_token(runtime, role="user")
    _, admin = create_user_and_token(runtime, role="admin")
    with TestClient(create_app(runtime), client=OUTSIDE) as outside:
        assert outside.get("/metrics").status_code == 401
        assert outside.get("/metrics", headers=auth_headers(user)).status_code == 403
        assert outside.get("/metrics", headers=auth_headers(admin)).status_code == 403  # IP
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_every_process_of_the_machine_is_summed(tmp_path: Path) -> None:
    """Two processes record requests into one directory; a third reports their sum."""
    record = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from agentos import telemetry
        telemetry.use_directory(Path(sys.argv[1]))
        for _ in range(int(sys.argv[2])):
            telemetry.request("/api/jobs/history", "GET", 200, 0.004)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    for count in ("3", "4"):
        subprocess.run([sys.executable, "-c", record, str(tmp_path), count], env=env, check=True)
    report = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from agentos import telemetry
        telemetry.use_directory(Path(sys.argv[1]))
        print(telemetry.exposition()[0].decode())
        """
    )
    text = subprocess.run(
        [sys.executable, "-c", report, str(tmp_path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (requests,) = [
        f for f in text_string_to_metric_families(text) if f.name == "agentos_http_requests"
    ]
    totals = [s.value for s in requests.samples if s.labels.get("route") == "/api/jobs/history"]
    assert totals == [7.0]
