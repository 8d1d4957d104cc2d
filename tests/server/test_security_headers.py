"""Every response carries the security headers, errors and refusals included; the HTML
pages get a policy that lets the OpenAPI UI load, the JSON answers one that loads nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _assert_common(headers: object) -> None:
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert headers["referrer-policy"] == "no-referrer"  # type: ignore[index]
    assert headers["x-frame-options"] == "DENY"  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/jobs/history", 401),
        ("GET", "/no/such/route", 404),
        ("POST", "/api/auth/login", 422),
        ("GET", "/api/jobs/%00", 422),
    ],
)
def test_api_answers_carry_a_policy_that_loads_nothing(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    _assert_common(response.headers)
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in policy


def test_the_openapi_ui_may_load_its_assets(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    _assert_common(response.headers)
    policy = response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        source = next(part for part in response.text.split('"') if part.endswith(asset))
        assert source.startswith("https://cdn.jsdelivr.net/")
