"""Schemas as the wire has them: what the models alone do not say about what the server
takes (`server/openapi.py` applies these to the document).

- No string may hold a NUL character (PostgreSQL text cannot store one; the edge refuses
  it in the path, the query and any JSON string or key): every free string says so.
- A value of any JSON type (`Any`, a free object's members) is a `JsonValue`: the same rule,
  all the way down.
- An optional parameter is present or absent on the wire, never null.
- Bounds the deployment's settings set are stated where the request gives the value.
"""

from __future__ import annotations

from typing import Any

from agentos.settings import Settings

NO_NUL = "^[^\\u0000]*$"
JSON_VALUE = "JsonValue"
JSON_VALUE_REF = {"$ref": f"#/components/schemas/{JSON_VALUE}"}
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "title": JSON_VALUE,
    "description": "Any JSON value with no NUL character in a string or a key",
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "number"},
        {"type": "string", "pattern": NO_NUL},
        {"type": "array", "items": JSON_VALUE_REF},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": JSON_VALUE_REF,
        },
    ],
}
# Keywords that already say what a value is: a schema without any of them takes anything.
SHAPING = frozenset(
    {
        "type", "$ref", "anyOf", "oneOf", "allOf", "not", "enum", "const", "properties",
        "items", "additionalProperties", "prefixItems", "format", "pattern",
    }
)  # fmt: skip
NESTED = ("properties", "patternProperties", "$defs")
SUBSCHEMA = ("items", "additionalProperties", "not", "propertyNames")
SUBSCHEMAS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _is_free(schema: Any) -> bool:
    return isinstance(schema, dict) and not SHAPING & schema.keys()


def _free_string(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
    return is_string and not {"pattern", "format", "enum", "const"} & schema.keys()


def wire(schema: Any) -> Any:
    """`schema` with free strings NUL-free and free values JsonValues (in place)."""
    if not isinstance(schema, dict):
        return schema
    if _free_string(schema):
        schema["pattern"] = NO_NUL
    free_members = schema.get("additionalProperties", True) is True
    if schema.get("type") == "object" and free_members and "properties" not in schema:
        schema["additionalProperties"] = dict(JSON_VALUE_REF)
        schema.setdefault("propertyNames", {"pattern": NO_NUL})
    for key in NESTED:
        for name, part in list(schema.get(key, {}).items()):
            schema[key][name] = dict(JSON_VALUE_REF, **part) if _is_free(part) else wire(part)
    for key in SUBSCHEMA:
        part = schema.get(key)
        if isinstance(part, dict):
            schema[key] = dict(JSON_VALUE_REF, **part) if _is_free(part) else wire(part)
    for key in SUBSCHEMAS:
        if key in schema:
            schema[key] = [wire(part) for part in schema[key]]
    return schema


def without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's `anyOf: [X, null]` as X: absent is how a parameter says none."""
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if len(options) != 1 or len(options) == len(schema.get("anyOf", [])):
        return schema
    kept = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**options[0], **kept}


def apply(spec: dict[str, Any], settings: Settings) -> None:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    for schema in schemas.values():
        wire(schema)
    schemas[JSON_VALUE] = JSON_VALUE_SCHEMA
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = wire(without_null(parameter.get("schema", {})))
            for container in [operation.get("requestBody", {}), *operation["responses"].values()]:
                for content in container.get("content", {}).values():
                    if isinstance(content.get("schema"), dict):
                        wire(content["schema"])
    upload = schemas.get("UploadInit", {}).get("properties", {})
    if "total_size" in upload:
        upload["total_size"]["maximum"] = settings.upload_max_bytes
