"""Property-based API test with schemathesis against the live OpenAPI schema (embedded).

Every operation, the admin action endpoint included, with every check schemathesis has
(`not_a_server_error`, status code, content type, headers and schema conformance, positive
data accepted, negative data rejected, missing required header, ignored auth, unsupported
method and its `Allow`, use after free, resource availability...) over the examples,
coverage and fuzzing phases, sent as an admin client would send them. `scripts/api_fuzz/run.sh`
runs the same configuration, stateful phase included, against a served and seeded API.

What OpenAPI cannot state is configured here, once, with its reason (tests/support/st.py):
unknown query parameters and headers are ignored (not generated as "invalid"), and the
cross-field rules the document lists in `x-cross-field-rules` are honoured by generated
"valid" requests.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support import st
from tests.support.auth import auth_headers, create_user_and_token


@pytest.fixture
def api_headers(embedded_settings: Settings, embedded_runtime: Runtime) -> dict[str, str]:
    _, token = create_user_and_token(embedded_runtime, role="admin")
    return auth_headers(token)


@pytest.fixture
def api_schema(embedded_settings: Settings, api_headers: dict[str, str]) -> Any:
    # No lifespan: the embedded runner would otherwise work on the jobs the requests create.
    app = create_app(st.unlimited(embedded_settings))
    return st.configure(schemathesis.openapi.from_asgi("/openapi.json", app), api_headers)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=st.MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    case.call_and_validate()


def test_api_holds_over_stateful_scenarios(
    embedded_settings: Settings, api_headers: dict[str, str]
) -> None:
    """The stateful phase: sequences of calls along the links schemathesis infers (an id
    one answer gives used by the next call), every check on each answer."""
    app = create_app(st.unlimited(embedded_settings))
    loaded = st.configure(schemathesis.openapi.from_asgi("/openapi.json", app), api_headers)
    machine = loaded.as_state_machine()
    machine.run(
        settings=settings(
            max_examples=st.MAX_EXAMPLES * 3,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
