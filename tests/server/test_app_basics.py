"""The app frame on both deployments: envelopes, /health, trace ids, unknown paths, 500s."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

PARTS = ("database", "cache", "bus", "broker")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def dead_redis_settings(settings: Settings) -> Iterator[Settings]:
    dead = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{_closed_port()}/0", "redis_key_prefix": "dead:"}
    )
    return dead


def assert_success_envelope(body: dict[str, object]) -> None:
    assert body["success"] is True
    assert "data" in body
    assert isinstance(body["timestamp"], str)
    assert isinstance(body["response_time_ms"], int | float)


def assert_error_envelope(body: dict[str, object], code: str) -> None:
    assert body["success"] is False
    assert body["error_code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    assert isinstance(body["timestamp"], str)


def test_root_answers_the_envelope(client: TestClient, settings: Settings) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert_success_envelope(body)
    expected = "embedded" if settings.is_embedded else "distributed"
    assert body["data"]["deployment"] == expected
    assert body["data"]["health"] == "/health"


def test_health_lists_every_part_with_latency(
    settings: Settings, runtime: Runtime, client: TestClient
) -> None:
    """Latency and backends are for admin readers; anyone sees each part's state."""
    public = client.get("/health").json()["data"]["parts"]
    assert set(PARTS) <= set(public)
    hidden = ("latency_ms", "backend", "detail")
    assert all(part[name] is None for part in public.values() for name in hidden)
    admin = auth_headers(create_user_and_token(runtime, role="admin")[1])
    with TestClient(create_app(runtime), client=("127.0.0.1", 5)) as local:
        response = local.get("/health", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_success_envelope(body)
    report = body["data"]
    assert report["status"] == "healthy"
    assert set(PARTS) <= set(report["parts"])
    for name in PARTS:
        part = report["parts"][name]
        assert part["status"] in ("up", "embedded"), (name, part)
        assert part["latency_ms"] is not None
        assert part["latency_ms"] >= 0
    expected_broker = "embedded" if settings.is_embedded else "up"
    assert report["parts"]["broker"]["status"] == expected_broker


def test_health_is_503_when_the_broker_is_down(
    dead_redis_settings: Settings, runtime: Runtime
) -> None:
    admin = auth_headers(create_user_and_token(runtime, role="admin")[1])
    with TestClient(
        create_app(dead_redis_settings), raise_server_exceptions=False, client=("127.0.0.1", 5)
    ) as client:
        response = client.get("/health", headers=admin)
        public = client.get("/health").json()
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["error_code"] == "UNHEALTHY"
    assert "broker" in body["error"]
    report = body["data"]
    assert report["status"] == "unhealthy"
    assert report["parts"]["database"]["status"] == "up"
    for name in ("cache", "bus", "broker", "ratelimit"):
        assert report["parts"][name]["status"] == "down"
        assert report["parts"][name]["detail"]
    assert report["parts"]["broker"]["required"] is True
    # Anyone else learns which part is down, not where it lives or why.
    assert public["data"]["parts"]["broker"] == {
        "status": "down",
        "required": True,
        "latency_ms": None,
        "backend": None,
        "detail": None,
    }
    assert "6379" not in str(public)
    assert "127.0.0.1:" not in str(public)


def test_trace_id_is_echoed_or_generated(client: TestClient) -> None:
    sent = client.get("/", headers={"X-Trace-Id": "req-42.abc"})
    assert sent.headers["X-Trace-Id"] == "req-42.abc"
    generated = client.get("/")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Trace-Id"])
    assert client.get("/").headers["X-Trace-Id"] != generated.headers["X-Trace-Id"]


def test_unknown_path_is_an_enveloped_404(client: TestClient) -> None:
    response = client.get("/no/such/path", headers={"X-Trace-Id": "missing-1"})
    assert response.status_code == 404
    body = response.json()
    assert_error_envelope(body, "NOT_FOUND")
    assert body["trace_id"] == "missing-1"
    assert response.headers["X-Trace-Id"] == "missing-1"


def test_unexpected_exception_is_an_enveloped_500_without_traceback(
    settings: Settings, runtime: Runtime
) -> None:
    app = create_app(runtime)

    def explode() -> None:
        raise RuntimeError("secret internals: /etc/agentos password=hunter2")

    app.add_api_route("/test/explode", explode, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/test/explode", headers={"X-Trace-Id": "boom-1"})
    assert response.status_code == 500
    body = response.json()
    assert_error_envelope(body, "INTERNAL_ERROR")
    assert body["trace_id"] == "boom-1"
    text = response.text
    assert "Traceback" not in text
    assert "hunter2" not in text
    assert "RuntimeError" not in text


def test_unexpected_exception_still_returns_the_trace_header(
    embedded_settings: Settings, embedded_runtime: Runtime
) -> None:
    app = create_app(embedded_runtime)

    def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test/explode", explode, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/test/explode", headers={"X-Trace-Id": "boom-2"})
    assert response.status_code == 500
    assert response.headers.get("X-Trace-Id") == "boom-2"
