"""OpenAPI documentation of the user API: error answers and success examples per operation.

Success examples are built from the `examples` of the schema models (their
`json_schema_extra`), wrapped in the seed's envelope, so the example shown in /docs and the
model's own example cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from fastapi import Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from agentos.schemas.common import ErrorEnvelope
from agentos.server.errors import ERROR_RESPONSES

Responses = dict[int | str, dict[str, Any]]

TIMESTAMP_EXAMPLE = "2026-01-01T10:00:05Z"
PAGINATION_EXAMPLE: dict[str, Any] = {
    "page": 1,
    "per_page": 20,
    "total": 1,
    "total_pages": 1,
    "has_next": False,
    "has_prev": False,
}
# Authenticated user-API operations all answer these: no/invalid token, per-user rate limit.
AUTH = (401, 429)


def example_of(model: type[BaseModel]) -> Any:
    """The first example declared on `model` (its `json_schema_extra["examples"]`)."""
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if not isinstance(examples, list) or not examples:
        raise LookupError(f"{model.__name__} declares no example")
    return examples[0]


def _error_doc(description: str, code: str) -> dict[str, Any]:
    example = {"success": False, "error": "...", "error_code": code, "timestamp": TIMESTAMP_EXAMPLE}
    return {"description": description, "content": {"application/json": {"example": example}}}


# Beyond the common codes: a body that is not JSON (400), the body limit (413) and missing
# capacity such as disk space (503).
EXTRA_ERRORS: Responses = {
    400: _error_doc("The body is not well-formed JSON", "BAD_REQUEST"),
    413: _error_doc("Request body over the configured limit", "PAYLOAD_TOO_LARGE"),
    503: _error_doc("Not enough capacity (e.g. free disk space)", "INSUFFICIENT_STORAGE"),
}


def errors(*statuses: int) -> Responses:
    """The documented error answers, with the error envelope as their schema."""
    docs: Responses = {**ERROR_RESPONSES, **EXTRA_ERRORS}
    return {status: {**docs[status], "model": ErrorEnvelope} for status in statuses}


def success(
    model: type[BaseModel],
    *,
    status: int = 200,
    many: bool = False,
    paged: bool = False,
    description: str = "Success",
) -> Responses:
    """The 2xx answer with an envelope example; `many` for a list, `paged` for a page."""
    data = example_of(model)
    body: dict[str, Any] = {"success": True, "data": [data] if many or paged else data}
    if paged:
        body["pagination"] = PAGINATION_EXAMPLE
    body |= {"timestamp": TIMESTAMP_EXAMPLE, "response_time_ms": 3.2}
    return {
        status: {"description": description, "content": {"application/json": {"example": body}}}
    }


def documented(
    model: type[BaseModel],
    *statuses: int,
    status: int = 200,
    many: bool = False,
    paged: bool = False,
) -> Responses:
    """`responses=` for an authenticated operation: its success and its error codes."""
    codes = sorted({*AUTH, *statuses})
    return {
        **success(model, status=status, many=many, paged=paged),
        **errors(*codes),
    }


# Declares the bearer scheme in OpenAPI (the "Authorize" button of /docs). It never rejects:
# `current_actor` authenticates, so the answers stay the error envelope's.
BearerAuth = Security(
    HTTPBearer(
        auto_error=False,
        scheme_name="bearer",
        description="An access token from POST /api/auth/login, or an API key",
    )
)
