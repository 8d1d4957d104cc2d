"""OpenAPI completeness: every operation documented, with examples and its error codes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.settings import Settings

PUBLIC = {("get", "/"), ("get", "/health"), ("post", "/api/auth/login"),
          ("post", "/api/auth/refresh")}  # fmt: skip
# The seed's governance limit for the whole API, admin endpoints included.
MAX_OPERATIONS = 50
STATE_CHANGING_WORDS = ("retry", "cancel", "start", "stop", "clear", "restart")
# The user API and auth, which must carry request and response examples everywhere.
USER_API = re.compile(r"^/(api/(jobs|agents|queue|clips|analytics|upload|auth)\b|health$|$)")
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("openapi-home")
    # Explicit: a module fixture runs before the per-test environment isolation.
    settings = Settings(home=home, database_url=None, redis_url=None)
    with TestClient(create_app(settings)) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def resolve(spec: dict[str, Any], node: Any) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return spec["components"]["schemas"][name]
    return node


def has_example(spec: dict[str, Any], node: Any, depth: int = 0) -> bool:
    """True when an example is declared on `node` or on a schema it references."""
    if depth > 6:
        return False
    node = resolve(spec, node)
    if isinstance(node, dict):
        if node.get("example") is not None or node.get("examples"):
            return True
        return any(has_example(spec, value, depth + 1) for value in node.values())
    if isinstance(node, list):
        return any(has_example(spec, value, depth + 1) for value in node)
    return False


def success_response(operation: dict[str, Any]) -> dict[str, Any]:
    codes = [code for code in operation["responses"] if code.startswith("2")]
    assert len(codes) == 1, codes
    return operation["responses"][codes[0]]


def test_operation_count_within_governance_limit(spec: dict[str, Any]) -> None:
    count = len(operations(spec))
    print(f"OpenAPI operations: {count} (limit {MAX_OPERATIONS})")
    assert 0 < count <= MAX_OPERATIONS


def test_every_operation_has_tag_summary_and_success_schema(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        label = f"{method.upper()} {path}"
        assert operation.get("tags"), label
        if (method, path) in PUBLIC and path in ("/", "/health"):
            assert operation["tags"] == ["System"], label
        assert operation.get("summary", "").strip(), label
        content = success_response(operation).get("content", {})
        assert content.get("application/json", {}).get("schema"), label


def test_authenticated_operations_document_401_and_429(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if (method, path) in PUBLIC:
            continue
        assert "401" in operation["responses"], f"{method.upper()} {path}"
        assert "429" in operation["responses"], f"{method.upper()} {path}"


def test_user_api_errors_have_the_error_envelope_schema(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if not USER_API.match(path):
            continue
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")) and not path.startswith("/health"):
                schema = response["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorEnvelope"), f"{method} {path} {code}"


def test_user_api_has_request_and_response_examples(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        label = f"{method.upper()} {path}"
        if not USER_API.match(path):
            continue  # the admin API is documented by its own tests
        if "requestBody" in operation:
            assert has_example(spec, operation["requestBody"]["content"]), label
        content = success_response(operation)["content"]["application/json"]
        assert content.get("example") is not None, label


def test_user_api_operations_are_described(spec: dict[str, Any]) -> None:
    """A description on every user-API operation that has more to say than its summary."""
    undocumented = [
        f"{method.upper()} {path}"
        for method, path, operation in operations(spec)
        if USER_API.match(path)
        and any(code in operation["responses"] for code in ("403", "404", "409"))
        and not operation.get("description", "").strip()
    ]
    assert undocumented == []


def test_no_get_changes_state(spec: dict[str, Any]) -> None:
    for method, path, _ in operations(spec):
        if method != "get":
            continue
        segments = [part for part in path.split("/") if part and not part.startswith("{")]
        for word in STATE_CHANGING_WORDS:
            assert not any(word in segment for segment in segments), f"GET {path}"


def test_bearer_scheme_declared_on_the_user_api(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for method, path, operation in operations(spec):
        if USER_API.match(path) and (method, path) not in PUBLIC:
            assert operation.get("security") == [{"bearer": []}], f"{method.upper()} {path}"
