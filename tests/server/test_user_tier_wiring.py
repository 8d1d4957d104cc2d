"""The seed's user API is counted in the user tier: per user, not per IP."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token


def test_user_endpoints_share_the_user_tier(
    embedded_settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    runtime = make_runtime(
        embedded_settings.model_copy(
            update={"ratelimit_user_per_min": 3, "ratelimit_burst_factor": 0}
        )
    )
    _, first = create_user_and_token(runtime, role="user")
    _, second = create_user_and_token(runtime, role="user")
    client = TestClient(create_app(runtime))
    paths = ["/api/jobs/history", "/api/upload", "/api/clips/recent"]
    for path in paths:
        response = client.get(path, headers=auth_headers(first))
        assert response.status_code == 200, response.text
        assert "RateLimit" in response.headers
    refused = client.get("/api/queue/status", headers=auth_headers(first))
    assert refused.status_code == 429
    assert refused.json()["error_code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/api/jobs/history", headers=auth_headers(second)).status_code == 200


def test_upload_chunks_are_counted_in_their_own_tier(
    embedded_settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    runtime = make_runtime(
        embedded_settings.model_copy(
            update={
                "ratelimit_user_per_min": 2,
                "ratelimit_upload_per_min": 5,
                "ratelimit_burst_factor": 0,
            }
        )
    )
    _, token = create_user_and_token(runtime, role="user")
    headers = auth_headers(token)
    client = TestClient(create_app(runtime))
    data = bytes(range(256)) * 4096
    body = {
        "filename": "a.mp4",
        "total_size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "chunk_size": 64 * 1024,
    }
    upload = client.post("/api/upload/init", json=body, headers=headers).json()["data"]
    codes = []
    for index in range(6):
        piece = data[index * 64 * 1024 : (index + 1) * 64 * 1024]
        response = client.post(
            "/api/upload/chunk",
            params={"upload_id": upload["id"], "index": index},
            content=piece,
            headers=headers,
        )
        codes.append(response.status_code)
    assert codes == [200] * 5 + [429]
    assert client.get("/api/upload", headers=headers).status_code == 200
    assert client.get("/api/upload", headers=headers).status_code == 429
