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


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js")),
        ("/redoc", ("redoc.standalone.js",)),
    ],
)
def test_the_docs_pages_load_their_assets_from_this_server(
    client: TestClient, page: str, assets: tuple[str, ...]
) -> None:
    """Offline: no CDN in the page or its policy, no inline script; every asset is served."""
    response = client.get(page)
    assert response.status_code == 200
    _assert_common(response.headers)
    policy = response.headers["content-security-policy"]
    assert "https:" not in policy
    assert "script-src 'self';" in policy
    assert "<script>" not in response.text
    for asset in assets:
        source = next(part for part in response.text.split('"') if part.endswith(asset))
        assert source.startswith("/docs/assets/")
        served = client.get(source)
        assert served.status_code == 200, source
        assert served.headers["content-security-policy"] == policy


def test_the_console_policy_is_same_origin_with_no_inline_code(runtime: Runtime) -> None:
    # The console is for the admin allow-list (loopback by default), like the admin API.
    with TestClient(create_app(runtime), client=("127.0.0.1", 50000)) as client:
        response = client.get("/admin")
    assert response.status_code == 200
    _assert_common(response.headers)
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; script-src 'self'; style-src 'self';")
    assert "unsafe" not in policy
    assert "https:" not in policy
    assert "data:" not in policy
