"""Property-based API test with schemathesis against the live OpenAPI schema (embedded).

Every operation but the admin action endpoint (its own tests; still changing) gets a few
generated requests, sent with an admin token: no answer may be a 5xx, use a status code
the operation does not document, or break the documented schema of its status.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXCLUDED_PATHS = r"^/api/admin/action"
UNLIMITED = 1_000_000


@pytest.fixture
def api_headers(embedded_settings: Settings, embedded_runtime: Runtime) -> dict[str, str]:
    _, token = create_user_and_token(embedded_runtime, role="admin")
    return auth_headers(token)


@pytest.fixture
def api_schema(embedded_settings: Settings, api_headers: dict[str, str]) -> Any:
    # Limits raised so generated traffic measures behaviour, not the rate limiter.
    unlimited = embedded_settings.model_copy(
        update={
            "ratelimit_public_per_min": UNLIMITED,
            "ratelimit_user_per_min": UNLIMITED,
            "ratelimit_admin_read_per_min": UNLIMITED,
        }
    )
    # No lifespan: the embedded runner would otherwise work on the jobs the requests create.
    app = create_app(unlimited)
    return schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path_regex=EXCLUDED_PATHS)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, api_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=api_headers, checks=CHECKS)
