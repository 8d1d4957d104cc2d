"""The seed's rules on answers: envelopes, status codes, examples and rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs

from agentos.governance.model import Operation, Problem, Subject, rule

SUCCESS_FIELDS = ("success", "data", "timestamp", "response_time_ms")
ERROR_FIELDS = ("success", "error", "error_code", "timestamp")
ERROR_REQUIRED = ("error", "error_code")
TIERS = frozenset({"public", "user", "upload", "admin_read", "admin_action"})
RATE_HEADERS = ("Retry-After", "RateLimit", "RateLimit-Policy")
ALL = ("1", "2", "3", "4", "5")


def json_content(container: dict[str, Any]) -> dict[str, Any] | None:
    content = container.get("content") or {}
    found = content.get("application/json")
    return found if isinstance(found, dict) else None


def responses(operation: Operation, prefix: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    for status, answer in (operation.spec.get("responses") or {}).items():
        if str(status).startswith(prefix) and isinstance(answer, dict):
            yield str(status), answer


def fields_of(subject: Subject, schema: Any) -> tuple[set[str], set[str]]:
    """(properties, required) of an object schema, through refs and allOf."""
    node = subject.resolve(schema)
    if not isinstance(node, dict):
        return set(), set()
    properties, required = set(node.get("properties", {})), set(node.get("required", []))
    for part in node.get("allOf", []):
        more, needed = fields_of(subject, part)
        properties |= more
        required |= needed
    return properties, required


@rule(
    "envelope.success",
    "Every JSON success answer is the seed's envelope (success, data, timestamp, response_time_ms)",
    item=6,
    fix="Answer with responses.ok()/paged() and declare response_model=SuccessEnvelope[...]",
)
def success_envelope(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        for status, answer in responses(operation, ("2",)):
            content = json_content(answer)
            if content is None:
                continue
            properties, _ = fields_of(subject, content.get("schema", {}))
            missing = [name for name in SUCCESS_FIELDS if name not in properties]
            if missing:
                yield Problem(f"{status} answer lacks {', '.join(missing)}", operation)


@rule(
    "envelope.error",
    "Every error answer (FastAPI's automatic 422 included) is the seed's error envelope",
    item=8,
    fix="Document the status with the ErrorEnvelope schema (server/openapi.py does for codes)",
)
def error_envelope(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        for status, answer in responses(operation, ("4", "5")):
            content = json_content(answer)
            if content is None:
                yield Problem(f"{status} has no application/json schema", operation)
                continue
            properties, required = fields_of(subject, content.get("schema", {}))
            missing = [name for name in ERROR_FIELDS if name not in properties]
            missing += [f"required {name}" for name in ERROR_REQUIRED if name not in required]
            if missing:
                yield Problem(f"{status} is not the error envelope: no {missing}", operation)


def has_status(operation: Operation, status: str) -> bool:
    return status in (operation.spec.get("responses") or {})


@rule(
    "status.documented",
    "401/403 where a token is needed, 404 where a path names a resource, 422 where input is taken",
    item=8,
    fix="Add the status with the codes that cause it (server/api_docs.py DOMAIN_CODES)",
)
def statuses(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        needed = []
        if operation.spec.get("security"):
            needed += ["401", "403"]
        params = operation.spec.get("parameters") or []
        if any(param.get("in") == "path" and param["name"].endswith("_id") for param in params):
            needed.append("404")
        if params or "requestBody" in operation.spec:
            needed.append("422")
        for status in needed:
            if not has_status(operation, status):
                yield Problem(f"{status} can happen but is not documented", operation)


def code_table(subject: Subject) -> dict[str, dict[str, Any]]:
    rows = subject.spec.get("x-error-codes") or []
    return {str(row.get("code")): row for row in rows if isinstance(row, dict)}


@rule(
    "errors.meanings",
    "Every error answer lists its error codes, each with its meaning, from the catalog",
    item=8,
    fix="Document the codes (server/api_docs.py) so each status has an example per code",
)
def meanings(subject: Subject) -> Iterator[Problem]:
    table = code_table(subject)
    for operation in subject.operations():
        for status, answer in responses(operation, ("4", "5")):
            content = json_content(answer) or {}
            examples = content.get("examples")
            if not isinstance(examples, dict) or not examples:
                yield Problem(f"{status} lists no error codes", operation)
                continue
            for code, item in examples.items():
                example = subject.example(item)
                row = table.get(code)
                if row is None:
                    yield Problem(f"{status} {code} is not in the error catalog", operation)
                    continue
                if int(status) not in row.get("http_status", []):
                    yield Problem(
                        f"{code} answers {row.get('http_status')}, not {status}", operation
                    )
                if not str(example.get("summary", "")).strip():
                    yield Problem(f"{status} {code} has no meaning (summary)", operation)
                value = example.get("value")
                if not isinstance(value, dict) or value.get("error_code") != code:
                    yield Problem(f"{status} {code}: the example is not its envelope", operation)


def examples_of(content: dict[str, Any], subject: Subject | None = None) -> list[Any]:
    if "example" in content:
        return [content["example"]]
    examples = content.get("examples")
    if not isinstance(examples, dict):
        return []
    items = [subject.example(item) if subject else item for item in examples.values()]
    return [item.get("value") for item in items if isinstance(item, dict)]


@rule(
    "examples.present",
    "Every request body and JSON success answer has an example",
    item=7,
    fix="Declare examples on the model (json_schema_extra) or the route's responses=",
)
def examples_present(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        body = json_content(operation.spec.get("requestBody") or {})
        if body is not None and not examples_of(body, subject):
            yield Problem("the request body has no example", operation)
        for status, answer in responses(operation, ("2",)):
            content = json_content(answer)
            if content is not None and not examples_of(content, subject):
                yield Problem(f"the {status} answer has no example", operation)


def validator(subject: Subject, schema: Any) -> Any:
    wrapped = {"components": subject.spec.get("components", {}), **(schema or {})}
    return jsonschema_rs.validator_for(wrapped, validate_formats=True)


def invalid(subject: Subject, schema: Any, examples: list[Any]) -> str | None:
    try:
        check = validator(subject, schema)
    except (ValueError, jsonschema_rs.ValidationError) as exc:
        return f"its schema does not compile: {exc}"
    for example in examples:
        for error in check.iter_errors(example):
            return f"{error.message} at /{'/'.join(str(p) for p in error.instance_path)}"
    return None


@rule(
    "examples.valid",
    "Every example (request, success, error) is valid against its own schema",
    item=7,
    fix="Fix the example or the schema so they agree (the example is what clients copy)",
)
def examples_valid(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        body = json_content(operation.spec.get("requestBody") or {})
        places: list[tuple[str, dict[str, Any] | None]] = [("request", body)]
        places += [(status, json_content(answer)) for status, answer in responses(operation, ALL)]
        for where, content in places:
            if content is None:
                continue
            problem = invalid(subject, content.get("schema", {}), examples_of(content, subject))
            if problem:
                yield Problem(f"{where} example: {problem}", operation)


@rule(
    "ratelimit.tier",
    "Every operation documents its rate-limit tier (x-rate-limit)",
    item=5,
    fix="Attach a tier dependency (server/ratelimit.py) so the document can state it",
)
def rate_tier(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        doc = operation.spec.get("x-rate-limit")
        if not isinstance(doc, dict) or doc.get("tier") not in TIERS:
            yield Problem("no x-rate-limit with a known tier", operation)
        elif not doc.get("limit") or not doc.get("window_s"):
            yield Problem("x-rate-limit without limit and window", operation)


@rule(
    "ratelimit.429",
    "Every operation documents 429 with Retry-After and the RateLimit headers",
    item=5,
    fix="Document 429 RATE_LIMITED with Retry-After, RateLimit and RateLimit-Policy headers",
)
def rate_429(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        answer = (operation.spec.get("responses") or {}).get("429")
        if not isinstance(answer, dict):
            yield Problem("429 is not documented", operation)
            continue
        headers = answer.get("headers") or {}
        missing = [name for name in RATE_HEADERS if name not in headers]
        if missing:
            yield Problem(f"429 does not document {', '.join(missing)}", operation)
