"""Each core error kind becomes its HTTP status and the seed's error envelope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agentos import errors
from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings

CASES = [
    (errors.InvalidError("bad input"), 422, "VALIDATION_ERROR"),
    (errors.NotFoundError("no such job"), 404, "NOT_FOUND"),
    (errors.ConflictError("already done", code="INVALID_TRANSITION"), 409, "INVALID_TRANSITION"),
    (errors.UnauthenticatedError("who are you"), 401, "UNAUTHENTICATED"),
    (errors.ForbiddenError("not you"), 403, "FORBIDDEN"),
    (errors.UnavailableError("down"), 503, "SERVICE_UNAVAILABLE"),
    (errors.InternalError("oops"), 500, "INTERNAL_ERROR"),
]


def _client_raising(runtime: Runtime, error: Exception) -> TestClient:
    app = create_app(runtime)

    def boom() -> None:
        raise error

    app.add_api_route("/test/boom", boom, methods=["GET"])
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("error", "status", "code"), CASES)
def test_error_kinds_map_to_status_and_envelope(
    embedded_settings: Settings,
    embedded_runtime: Runtime,
    error: errors.AgentOSError,
    status: int,
    code: str,
) -> None:
    response = _client_raising(embedded_runtime, error).get(
        "/test/boom", headers={"X-Trace-Id": "trace-123"}
    )
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert body["error"] == error.message
    assert body["error_code"] == code
    assert body["trace_id"] == "trace-123"
    assert "timestamp" in body
    assert response.headers["X-Trace-Id"] == "trace-123"


def test_rate_limited_carries_retry_headers(
    embedded_settings: Settings, embedded_runtime: Runtime
) -> None:
    error = errors.RateLimitedError("slow down", retry_after_s=2.2, limit=10, window_s=60)
    response = _client_raising(embedded_runtime, error).get("/test/boom")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["RateLimit-Policy"] == "10;w=60"
    assert response.json()["error_code"] == "RATE_LIMITED"


def test_request_validation_is_an_enveloped_422(
    embedded_settings: Settings, embedded_runtime: Runtime
) -> None:
    app = create_app(embedded_runtime)

    def needs_int(n: int) -> dict[str, int]:
        return {"n": n}

    app.add_api_route("/test/int", needs_int, methods=["GET"])
    response = TestClient(app).get("/test/int", params={"n": "abc"})
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "VALIDATION_ERROR"
    assert "n" in body["error"]
    assert body["details"]["errors"][0]["loc"] == ["query", "n"]
