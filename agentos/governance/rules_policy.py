"""The seed's policy rules: admin data through the SSOT only, admin writes through the
action endpoint only (rules 3 and 4), authentication and security headers, versioning."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import date
from typing import Any

from agentos.governance.model import Problem, Subject, rule
from agentos.services.actions import registry

with warnings.catch_warnings():  # starlette's note that its test client moves to httpx2
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

ADMIN_PREFIX = "/api/admin/"
SSOT_PREFIX = "/api/admin/ssot"
ACTION_ENDPOINT = "POST /api/admin/action"
VERSIONED = re.compile(r"^/api/v\d+/")
# Answers sampled for the security headers: JSON, an error, and the HTML documentation.
HEADER_SAMPLES = ("/openapi.json", "/api/no-such-route", "/docs")
DOCS_PATH = "/docs"


def client(subject: Subject) -> TestClient:
    """In-process requests. Not entered as a context manager: the lifespan (runner, warmer)
    never starts."""
    return TestClient(subject.app, raise_server_exceptions=False)


@rule(
    "admin.ssot-only",
    "Admin data only through the SSOT endpoints (seed rule 3)",
    item=2,
    fix="Serve it as a section of GET /api/admin/ssot (or /api/admin/ssot/<section>)",
)
def ssot_only(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        tier = (operation.spec.get("x-rate-limit") or {}).get("tier")
        under_admin = operation.path.startswith(ADMIN_PREFIX)
        in_ssot = operation.path == SSOT_PREFIX or operation.path.startswith(SSOT_PREFIX + "/")
        if operation.method == "GET" and (under_admin or tier == "admin_read") and not in_ssot:
            yield Problem("an admin read outside /api/admin/ssot", operation)


@rule(
    "admin.action-only",
    "Admin writes only through POST /api/admin/action (seed rule 4)",
    item=9,
    fix="Register it as an action (services/actions) and run it through the action pipeline",
)
def action_only(subject: Subject) -> Iterator[Problem]:
    registry.load()
    for operation in subject.operations():
        action = operation.spec.get("x-admin-action")
        tier = (operation.spec.get("x-rate-limit") or {}).get("tier")
        writes = operation.method not in ("GET", "HEAD", "OPTIONS")
        if operation.key == ACTION_ENDPOINT:
            continue
        if writes and (operation.path.startswith(ADMIN_PREFIX) or tier == "admin_action"):
            yield Problem("an admin write beside the action endpoint", operation)
        elif action and registry.get(str(action)) is None:
            yield Problem(f"runs {action!r}, which is not a registered action", operation)


@rule(
    "security.scheme",
    "Every operation that needs a token declares the bearer scheme",
    item=4,
    fix="Add dependencies=[BearerAuth] (routes/_docs.py) or a tier that authenticates",
)
def security_scheme(subject: Subject) -> Iterator[Problem]:
    schemes = subject.spec.get("components", {}).get("securitySchemes", {})
    if not any(scheme.get("scheme") == "bearer" for scheme in schemes.values()):
        yield Problem("no bearer security scheme declared", where="document")
    for operation in subject.operations():
        tier = (operation.spec.get("x-rate-limit") or {}).get("tier")
        if tier not in (None, "public") and not operation.spec.get("security"):
            yield Problem(f"tier {tier} needs a token but no security is declared", operation)


def _header_problems(path: str, headers: Any) -> Iterator[str]:
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        yield f"{path}: no X-Content-Type-Options: nosniff"
    if not headers.get("referrer-policy"):
        yield f"{path}: no Referrer-Policy"
    csp = headers.get("content-security-policy", "")
    if not csp:
        yield f"{path}: no Content-Security-Policy"
    elif path == DOCS_PATH and "script-src" not in csp and "default-src 'none'" in csp:
        yield f"{path}: the CSP lets the documentation page run no script"
    elif path != DOCS_PATH and "default-src 'none'" not in csp:
        yield f"{path}: the API's CSP should be default-src 'none'"


@rule(
    "security.headers",
    "Every answer carries nosniff, Referrer-Policy and a Content-Security-Policy (one fit "
    "for /docs)",
    item=4,
    fix="Keep server/middleware.py security_headers on every answer",
)
def security_headers(subject: Subject) -> Iterator[Problem]:
    http = client(subject)
    for path in HEADER_SAMPLES:
        answer = http.get(path)
        for problem in _header_problems(path, answer.headers):
            yield Problem(problem, where=path)


@rule(
    "version.policy",
    "A declared API version and policy; documented paths canonical (no version mixing)",
    item=1,
    fix="Declare x-api-version and x-versioning (server/versioning.py); document canonical paths",
)
def version_policy(subject: Subject) -> Iterator[Problem]:
    version = subject.spec.get("x-api-version")
    policy = subject.spec.get("x-versioning")
    if not isinstance(version, int) or not isinstance(policy, dict):
        yield Problem("no x-api-version / x-versioning in the document", where="document")
        return
    for operation in subject.operations():
        if VERSIONED.match(operation.path):
            yield Problem("a versioned path is documented; document the canonical one", operation)
    http = client(subject)
    for alias in policy.get("aliases", []):
        yield from _alias_problems(subject, http, str(alias), policy)


def _alias_problems(
    subject: Subject, http: TestClient, alias: str, policy: dict[str, Any]
) -> Iterator[Problem]:
    """Each alias answers as the canonical path (a parameterless GET of each, no token)."""
    canonical = str(policy.get("canonical_prefix", "/api/"))
    header = str(policy.get("version_header", "API-Version"))
    for operation in subject.operations():
        if operation.method != "GET" or "{" in operation.path:
            continue
        if not operation.path.startswith(canonical):
            continue
        plain = http.get(operation.path)
        aliased = http.get(alias + operation.path[len(canonical) :])
        if aliased.status_code != plain.status_code:
            yield Problem(
                f"{alias} alias answers {aliased.status_code}, the path {plain.status_code}",
                operation,
            )
        if plain.headers.get(header) != str(subject.spec.get("x-api-version")):
            yield Problem(f"the answer has no {header} header", operation)


@rule(
    "version.deprecation",
    "Deprecated operations carry Deprecation, Sunset and a successor Link, and are gone by "
    "their sunset",
    item=9,
    fix="List it in server/versioning.py DEPRECATIONS with its dates; remove it after sunset",
)
def deprecations(subject: Subject) -> Iterator[Problem]:
    listed = subject.spec.get("x-deprecations") or []
    documented = {op.key: op for op in subject.operations()}
    http = client(subject)
    for item in listed:
        key = f"{item.get('method')} {item.get('path')}"
        sunset = date.fromisoformat(str(item.get("sunset")))
        if sunset <= date.fromisoformat(str(item.get("since"))):
            yield Problem("sunset before deprecation", where=key)
        if sunset < date.today():
            yield Problem(f"past its sunset ({sunset}): remove it", where=key)
        operation = documented.get(key)
        if operation is not None and not operation.spec.get("deprecated"):
            yield Problem("deprecated but not marked deprecated: true", operation)
        if "{" not in str(item.get("path")):
            answer = http.request(str(item.get("method")), str(item.get("path")))
            for name in ("Deprecation", "Sunset", "Link"):
                if name not in answer.headers:
                    yield Problem(f"its answer has no {name} header", where=key)
    for operation in subject.operations():
        if operation.spec.get("deprecated") and not operation.spec.get("x-sunset"):
            yield Problem("deprecated without x-sunset", operation)
