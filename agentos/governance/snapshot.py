"""The normalised API: what a client can depend on, and nothing else (no descriptions,
examples or titles), in a stable order, so `docs/api-snapshot.json` changes only when the
API does and `agentos governance diff` can classify each change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentos.governance.model import Subject

SNAPSHOT_PATH = Path("docs/api-snapshot.json")
SCHEMA_KEYS = frozenset(
    {
        "type", "format", "enum", "const", "required", "properties", "items",
        "additionalProperties", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "minLength", "maxLength", "pattern", "minItems", "maxItems", "anyOf", "oneOf", "allOf",
        "not", "prefixItems", "propertyNames", "minProperties", "maxProperties",
    }
)  # fmt: skip
REF_PREFIX = "#/components/schemas/"


def normalise_schema(schema: Any) -> Any:
    if isinstance(schema, list):
        return [normalise_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return {"$ref": str(schema["$ref"]).removeprefix(REF_PREFIX)}
    kept: dict[str, Any] = {}
    for key, value in sorted(schema.items()):
        if key not in SCHEMA_KEYS:
            continue
        if key == "properties":
            kept[key] = {name: normalise_schema(item) for name, item in sorted(value.items())}
        elif key == "required":
            kept[key] = sorted(value)
        else:
            kept[key] = normalise_schema(value)
    return kept


def _media(container: dict[str, Any]) -> dict[str, Any]:
    return {
        media: normalise_schema(content.get("schema", {}))
        for media, content in sorted((container.get("content") or {}).items())
    }


def _response(status: str, answer: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"media": _media(answer)}
    if status.startswith(("4", "5")):
        examples = (answer.get("content") or {}).get("application/json", {}).get("examples")
        found["codes"] = sorted(examples) if isinstance(examples, dict) else []
    if answer.get("headers"):
        found["headers"] = sorted(answer["headers"])
    return found


def normalise_operation(operation: dict[str, Any]) -> dict[str, Any]:
    parameters = {
        f"{param.get('in')}:{param.get('name')}": {
            "required": bool(param.get("required")),
            "schema": normalise_schema(param.get("schema", {})),
        }
        for param in operation.get("parameters") or []
    }
    body = operation.get("requestBody")
    request = {"required": bool(body.get("required")), "media": _media(body)} if body else None
    return {
        "tags": sorted(operation.get("tags") or []),
        "tier": (operation.get("x-rate-limit") or {}).get("tier"),
        "security": bool(operation.get("security")),
        "deprecated": bool(operation.get("deprecated")),
        "admin_action": operation.get("x-admin-action"),
        "parameters": dict(sorted(parameters.items())),
        "request_body": request,
        "responses": {
            status: _response(status, answer)
            for status, answer in sorted((operation.get("responses") or {}).items())
        },
    }


def build(subject: Subject) -> dict[str, Any]:
    operations = {op.key: normalise_operation(op.spec) for op in subject.operations()}
    codes = {
        str(row["code"]): {
            "kind": row.get("kind"),
            "http_status": row.get("http_status"),
            "exit_code": row.get("exit_code"),
        }
        for row in subject.spec.get("x-error-codes") or []
    }
    return {
        "api_version": subject.spec.get("x-api-version"),
        "operations": dict(sorted(operations.items())),
        "schemas": {
            name: normalise_schema(schema) for name, schema in sorted(subject.components.items())
        },
        "error_codes": dict(sorted(codes.items())),
    }


def dumps(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
