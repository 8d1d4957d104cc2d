"""The OpenAPI description, completed from what the app really does.

FastAPI describes each route from its signature; this pass adds what only the app knows:
- the rate-limit tier of every operation (found among its dependencies) as `x-rate-limit`,
  and its 429 answer with `Retry-After` and the `RateLimit` headers;
- the bearer scheme on every operation that needs a token;
- every error code an operation can answer, under its HTTP status, with its meaning (an
  example per code), in the seed's error envelope, FastAPI's automatic 422 included;
- an example for every request and success answer that has none (`server/examples.py`);
- optional parameters as what they are on the wire (present or absent, never null);
- the error catalog (`x-error-codes`), the version policy (`x-api-version`, deprecations
  with their `Deprecation`/`Sunset` headers), the routes left out on purpose and the rules
  an operation is excused from (`server/api_docs.py`).
`agentos governance check` verifies the result against the seed's rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPBearer

from agentos.errors import EXIT_CODE_BY_KIND
from agentos.errors.catalog import CATALOG
from agentos.server import api_docs, versioning, wire_schemas
from agentos.server.deps import refuse_writes_in_maintenance
from agentos.server.errors import HTTP_STATUS_BY_KIND, catalog_rows, global_codes, status_of
from agentos.server.examples import example_for
from agentos.server.ratelimit import (
    Tier,
    public_rate_limit,
    upload_rate_limit,
    user_rate_limit,
    windows,
)
from agentos.server.routes import ROUTE_ACTIONS, admin_actions, admin_ssot
from agentos.settings import Settings

TIER_OF: dict[Callable[..., Any], Tier] = {
    public_rate_limit: "public",
    user_rate_limit: "user",
    upload_rate_limit: "upload",
    admin_ssot.admin_reader: "admin_read",
    admin_actions.status_reader: "admin_read",
    admin_actions.action_caller: "admin_action",
}
ACTION_ENDPOINT = "POST /api/admin/action"
ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
EXAMPLES_REF = "#/components/examples/"
TIMESTAMP = "2026-01-01T10:00:00Z"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_STATUSES = {"PAYLOAD_TOO_LARGE", "BAD_REQUEST"}
AUTH_CODES = (
    "AUTH_REQUIRED",
    "TOKEN_INVALID",
    "TOKEN_EXPIRED",
    "TOKEN_REVOKED",
    "API_KEY_INVALID",
    "API_KEY_EXPIRED",
    "API_KEY_REVOKED",
    "USER_DISABLED",
    "PASSWORD_CHANGE_REQUIRED",
)
ADMIN_CODES = (
    "INVALID_API_KEY",
    "IP_NOT_ALLOWED",
    "FORBIDDEN",
    "PERMISSION_DENIED",
    "TOO_MANY_DENIALS",
)
ACTION_CODES = (
    "ACTION_IP_NOT_ALLOWED",
    "IDEMPOTENCY_KEY_REUSED",
    "INVALID_IDEMPOTENCY_KEY",
    "IDEMPOTENCY_IN_PROGRESS",
    "CIRCUIT_OPEN",
    "CONFIRMATION_REQUIRED",
    "VALIDATION_ERROR",
)
RATE_HEADERS: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit": {
        "description": "The tightest window: `limit=N, remaining=0, reset=S` (IETF draft)",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": "Every window of the tier: `N;w=S, ...`",
        "schema": {"type": "string"},
    },
}
PHRASES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Rate limited",
    500: "Internal error",
    503: "Unavailable",
}


@dataclass(frozen=True)
class Facts:
    """What the app knows about one operation, beyond its signature."""

    tier: Tier | None
    authenticated: bool
    admin_action: str | None
    maintained: bool


def _dependency_calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependency_calls(sub)


def operation_facts(app: FastAPI) -> dict[str, Facts]:
    """ "METHOD /path" -> Facts, for every documented operation of the app."""
    found: dict[str, Facts] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        calls = list(_dependency_calls(context.dependant))
        tier = next((TIER_OF[call] for call in calls if call in TIER_OF), None)
        bearer = any(isinstance(call, HTTPBearer) for call in calls)
        for method in sorted(context.methods or ()):
            key = f"{method} {context.path_format}"
            action = ROUTE_ACTIONS.get((method, str(context.path_format)))
            found[key] = Facts(
                tier=tier,
                authenticated=bearer or tier not in (None, "public"),
                admin_action="*" if key == ACTION_ENDPOINT else action,
                maintained=refuse_writes_in_maintenance in calls and method not in SAFE,
            )
    return found


def common_codes(facts: Facts, operation: dict[str, Any]) -> list[str]:
    """The codes every operation of this kind can answer (api_docs adds its own)."""
    codes = ["INVALID_STRING", "RATE_LIMITED"]
    body = operation.get("requestBody", {}).get("content", {})
    if operation.get("parameters") or body:
        codes.append("VALIDATION_ERROR")
    if body:
        codes.append("PAYLOAD_TOO_LARGE")
    if "application/json" in body:
        codes += ["BAD_REQUEST", "INVALID_JSON", "JSON_TOO_DEEP"]
    if facts.authenticated:
        codes += AUTH_CODES
    if facts.tier in ("admin_read", "admin_action") or facts.admin_action:
        codes += ADMIN_CODES
    if facts.admin_action:
        codes += ACTION_CODES
    if facts.maintained:
        codes.append("MAINTENANCE")
    return codes


def _error_example(code: str, schema: dict[str, Any], components: dict[str, Any]) -> Any:
    info = CATALOG[code]
    value = example_for(schema, components)
    value = value if isinstance(value, dict) else {}
    value.update(success=False, error=info.meaning, error_code=code, timestamp=TIMESTAMP)
    return {"summary": info.meaning, "value": value}


def _is_error_envelope(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    target = components.get(str(schema.get("$ref", "")).rsplit("/", 1)[-1], {})
    return "error_code" in target.get("properties", {})


def document_errors(operation: dict[str, Any], codes: list[str], spec: dict[str, Any]) -> None:
    """Each status with its codes, their meanings and examples, in the error envelope."""
    components = spec["components"]["schemas"]
    responses: dict[str, Any] = operation["responses"]
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        status = status_of(code)
        if status is not None:
            by_status.setdefault(status, []).append(code)
    for status, listed in sorted(by_status.items()):
        answer = responses.setdefault(str(status), {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if not _is_error_envelope(schema, components):
            schema = {"$ref": ENVELOPE_REF}
        if schema.get("$ref") == ENVELOPE_REF:  # the common case: one shared example per code
            shared = spec["components"].setdefault("examples", {})
            for code in listed:
                shared.setdefault(code, _error_example(code, schema, components))
            examples = {code: {"$ref": f"{EXAMPLES_REF}{code}"} for code in listed}
        else:
            examples = {code: _error_example(code, schema, components) for code in listed}
        answer["description"] = f"{PHRASES.get(status, 'Error')}: {', '.join(listed)}"
        answer["content"] = {"application/json": {"schema": schema, "examples": examples}}
        if status == 429:
            answer["headers"] = RATE_HEADERS


def document_examples(operation: dict[str, Any], spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and "example" not in body and "examples" not in body:
        body["example"] = example_for(body.get("schema", {}), components)
    for status, answer in operation["responses"].items():
        content = answer.get("content", {}).get("application/json")
        if status.startswith("2") and content is not None and not content.get("examples"):
            content.setdefault("example", example_for(content.get("schema", {}), components))


def rate_limit_doc(settings: Settings, tier: Tier) -> dict[str, Any]:
    found = windows(settings, tier)
    return {
        "tier": tier,
        "per": "client IP" if tier == "public" else "user",
        "limit": found[0].limit,
        "window_s": found[0].window_s,
        "burst": [{"limit": w.limit, "window_s": w.window_s} for w in found[1:]],
    }


def _deprecate(operation: dict[str, Any], item: versioning.Deprecation) -> None:
    operation["deprecated"] = True
    operation["x-sunset"] = item.sunset.isoformat()
    operation["x-successor"] = item.successor
    headers = {
        "Deprecation": {"description": "When it was deprecated (RFC 9745)", "required": True,
                        "schema": {"type": "string"}},
        "Sunset": {"description": "When it goes away (RFC 8594)", "required": True,
                   "schema": {"type": "string"}},
        "Link": {"description": "The successor (rel=successor-version)",
                 "schema": {"type": "string"}},
    }  # fmt: skip
    for answer in operation["responses"].values():
        answer.setdefault("headers", {}).update(headers)


def complete_operation(
    key: str, operation: dict[str, Any], facts: Facts, spec: dict[str, Any], settings: Settings
) -> None:
    if facts.authenticated and not operation.get("security"):
        operation["security"] = [{"bearer": []}]
    if facts.tier is not None:
        operation["x-rate-limit"] = rate_limit_doc(settings, facts.tier)
    if facts.admin_action:
        operation["x-admin-action"] = facts.admin_action
    if key in api_docs.SUPPRESSIONS:
        operation["x-governance-suppress"] = api_docs.SUPPRESSIONS[key]
    codes = [*common_codes(facts, operation), *api_docs.DOMAIN_CODES.get(key, ())]
    document_errors(operation, codes, spec)
    document_examples(operation, spec)
    for item in versioning.DEPRECATIONS:
        if item.documented and key == f"{item.method} {item.path}":
            _deprecate(operation, item)


KIND_TABLE_HEAD = "| kind | HTTP | exit | codes |\n|---|---|---|---|\n"


def _description(spec: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for info in CATALOG.values():
        if info.kind is not None:
            counts[info.kind] = counts.get(info.kind, 0) + 1
    rows = "".join(
        f"| {kind} | {status} | {EXIT_CODE_BY_KIND[kind]} | {counts.get(kind, 0)} |\n"
        for kind, status in HTTP_STATUS_BY_KIND.items()
    )
    return (
        f"{spec['info'].get('description', '').strip()}\n\n"
        f"**Version {versioning.API_VERSION}.** The paths below are canonical; each `/api/...` "
        f"path also answers as `/api/v{versioning.API_VERSION}/...`, and every `/api` answer "
        "carries `API-Version`. Deprecated operations send `Deprecation`, `Sunset` and a "
        "successor `Link` until their sunset (docs/api-versioning.md).\n\n"
        "**Errors.** Each error code has a kind, which decides its HTTP status and the CLI's "
        "exit code; `x-error-codes` lists every code with its meaning (docs/errors.md), and "
        "each operation lists the codes it answers, by status, with an example each. Any "
        "operation may also answer the `x-global-error-codes` (500, 503) when the "
        "deployment itself is in trouble.\n\n" + KIND_TABLE_HEAD + rows
    )


def complete(app: FastAPI, spec: dict[str, Any]) -> dict[str, Any]:
    settings: Settings = app.state.settings
    facts = operation_facts(app)
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            key = f"{method.upper()} {path}"
            if key in facts:
                complete_operation(key, operation, facts[key], spec, settings)
    wire_schemas.apply(spec, settings)
    schemas = spec["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    spec["tags"] = [{"name": name, "description": text} for name, text in api_docs.TAGS.items()]
    spec["info"]["description"] = _description(spec)
    spec["x-api-version"] = versioning.API_VERSION
    spec["x-versioning"] = {
        "canonical_prefix": versioning.API_PREFIX,
        "aliases": [versioning.VERSIONED_PREFIX],
        "version_header": versioning.VERSION_HEADER,
        "policy": "docs/api-versioning.md",
    }
    spec["x-deprecations"] = [
        {
            "method": item.method,
            "path": item.path,
            "since": item.since.isoformat(),
            "sunset": item.sunset.isoformat(),
            "successor": item.successor,
            "documented": item.documented,
        }
        for item in versioning.DEPRECATIONS
    ]
    spec["x-undocumented-routes"] = [
        {"path": path, "reason": reason} for path, reason in api_docs.UNDOCUMENTED.items()
    ]
    spec["x-global-error-codes"] = global_codes()
    spec["x-error-codes"] = catalog_rows()
    return spec


def install(app: FastAPI) -> None:
    """Complete the app's OpenAPI description once, when it is first built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        spec = build()
        if "x-api-version" not in spec:
            complete(app, spec)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
