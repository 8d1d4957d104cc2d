"""The console's server side, without a browser: the pages and files it serves, the admin
IP allow-list in front of them, actions it sends audited with source `web`, and the
catalog saying which actions the caller's role may run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), client=LOOPBACK) as test_client:
        yield test_client


def test_the_console_and_its_files_are_served_and_not_in_the_openapi(client: TestClient) -> None:
    page = client.get("/admin")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/admin/assets/js/main.js">' in page.text
    for asset in (
        "js/main.js",
        "js/views/dashboard.js",
        "css/console.css",
        "vendor/uplot/uPlot.iife.min.js",
    ):
        served = client.get(f"/admin/assets/{asset}")
        assert served.status_code == 200, asset
        assert served.headers["cache-control"] == "no-cache"
        assert "script-src 'self';" in served.headers["content-security-policy"]
    assert client.get("/admin/assets/../../server/app.py").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/admin", "/docs", "/redoc"))]


def test_the_admin_allow_list_covers_the_console(settings: Settings, tmp_path: object) -> None:
    settings = settings.model_copy(update={"admin_ip_allowlist": ["10.99.0.0/16"]})
    runtime = Runtime(settings)
    try:
        with TestClient(create_app(runtime), client=LOOPBACK) as client:
            for path in ("/admin", "/admin/assets/js/main.js"):
                refused = client.get(path)
                assert refused.status_code == 403, path
                assert refused.json()["error_code"] == "IP_NOT_ALLOWED"
            assert client.get("/docs").status_code == 200  # public, like /openapi.json
    finally:
        runtime.close()


def test_console_actions_are_audited_as_web_and_the_catalog_says_who_may_run_what(
    client: TestClient, runtime: Runtime
) -> None:
    _, admin = create_user_and_token(runtime, role="admin")
    _, supervisor = create_user_and_token(runtime, role="supervisor")
    headers = {**auth_headers(admin), "X-AgentOS-Source": "web", "Idempotency-Key": "web-1"}
    done = client.post(
        "/api/admin/action", json={"action": "system.info", "payload": {}}, headers=headers
    )
    assert done.status_code == 200, done.text
    plain = client.post(
        "/api/admin/action",
        json={"action": "system.info", "payload": {}},
        headers=auth_headers(admin),
    )
    assert plain.status_code == 200
    search = {"action": "audit.search", "payload": {"action": "system.info", "limit": 5}}
    records = client.post("/api/admin/action", json=search, headers=auth_headers(admin)).json()
    sources = sorted(r["source"] for r in records["data"]["result"]["records"])
    assert sources == ["api", "web"]

    catalog = client.get("/api/admin/action/status", headers=auth_headers(supervisor)).json()
    allowed = {entry["name"] for entry in catalog["data"]["catalog"] if entry["allowed"]}
    assert {"job.cancel", "job.retry", "logs.search"} <= allowed
    assert not {"job.delete", "user.create", "system.restore"} & allowed
