"""NUL bytes and lone surrogates in every string the API accepts: never a 5xx.

Schemathesis generates strings its codec can encode (UTF-8), which leaves out lone
surrogates; this walks the documented operations instead and, for each string a request
can carry (query parameters, path parameters, every string in the documented JSON body
example), sends it with a NUL and with a lone surrogate. Bodies must be refused with 422,
and nothing may answer 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

HOSTILE = ("a\x00b", "\ud800", "x\udc00y")
UNLIMITED = 1_000_000
SKIPPED_PATHS = ("/api/upload/chunk",)  # binary body: NUL bytes are data there
SAMPLE_PATH_VALUES = {
    "job_id": "00000000-0000-4000-8000-000000000000",
    "upload_id": "00000000-0000-4000-8000-000000000000",
    "clip_id": "00000000-0000-4000-8000-000000000000",
    "agent_id": "ingest",
    "status": "queued",
    "limit": "5",
    "user_id": "00000000-0000-4000-8000-000000000000",
}


def _concrete(path: str) -> str:
    for name, value in SAMPLE_PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path


@pytest.fixture
def hostile(embedded_settings: Settings, embedded_runtime: Runtime) -> Iterator[TestClient]:
    with embedded_runtime.session() as session:
        ensure_default_agents(session)
    relaxed = embedded_settings.model_copy(
        update={
            "ratelimit_public_per_min": UNLIMITED,
            "ratelimit_user_per_min": UNLIMITED,
            "ratelimit_admin_read_per_min": UNLIMITED,
            "ratelimit_admin_action_per_min": UNLIMITED,
            "action_rate_limits": {
                "standard": UNLIMITED,
                "high_risk": UNLIMITED,
                "critical": UNLIMITED,
            },
        }
    )
    with TestClient(create_app(relaxed, runner=lambda _r: None), client=("127.0.0.1", 9)) as client:
        token = create_user_and_token(embedded_runtime, role="admin")[1]
        client.headers.update(auth_headers(token))
        yield client


def _strings(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _replaced(value: Any, path: tuple[Any, ...], new: str) -> Any:
    if not path:
        return new
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _body_example(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    examples = content.get("examples") or {}
    if examples:
        return next(iter(examples.values())).get("value")
    schema = content.get("schema", {})
    return content.get("example") or schema.get("example") or (schema.get("examples") or [None])[0]


def _operations(client: TestClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    for path, operations in spec["paths"].items():
        if path in SKIPPED_PATHS:
            continue
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_no_hostile_string_reaches_a_5xx(hostile: TestClient) -> None:
    sent = 0
    for method, path, operation in _operations(hostile):
        params = [
            p
            for p in operation.get("parameters", [])
            if p.get("schema", {}).get("type") in ("string", None)
        ]
        for bad in HOSTILE:
            encoded = quote(bad.encode("utf-8", "surrogatepass"))  # as a client sends it
            for param in params:
                if param["in"] == "path":
                    url = path.replace("{" + param["name"] + "}", encoded)
                    url = _concrete(url)
                else:
                    url = f"{_concrete(path)}?{param['name']}={encoded}"
                response = hostile.request(method, url)
                sent += 1
                assert response.status_code < 500, (method, path, param["name"], response.text)
            example = _body_example(operation)
            for where in _strings(example):
                body = json.dumps(_replaced(example, where, bad))  # ensure_ascii: \\ud800 as sent
                url = _concrete(path)
                response = hostile.request(
                    method, url, content=body, headers={"Content-Type": "application/json"}
                )
                sent += 1
                assert response.status_code == 422, (method, path, where, response.text)
                assert response.json()["error_code"] == "INVALID_STRING"
    assert sent > 50
