"""An example for a JSON schema, built from the schema itself: the examples its models
declare where they do, else the smallest value that fits (required fields only, bounds and
formats honoured). OpenAPI shows it where a route declares no example of its own, and
`agentos governance check` validates every example against its schema."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 12
_FORMATS: dict[str, str] = {
    "date-time": "2026-01-01T10:00:00Z",
    "date": "2026-01-01",
    "time": "10:00:00Z",
    "uuid": "0b7e3c52-9a0f-4e8e-8d53-4f3f1f6f2a10",
    "email": "ops@example.com",
    "uri": "https://agentos.example.com/",
    "ipv4": "10.20.0.1",
    "ipv6": "::1",
    "duration": "P1D",
}


def example_for(schema: Any, components: dict[str, Any], depth: int = 0) -> Any:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if "$ref" in schema:
        target = components.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        return example_for(target, components, depth + 1)
    for key in ("const", "example", "default"):
        if key in schema and not (key == "default" and schema[key] is None):
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        options = [option for option in schema.get(key, []) if option.get("type") != "null"]
        if options:
            return example_for(options[0], components, depth + 1)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_for(part, components, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    return _by_type(schema, components, depth)


def _by_type(schema: dict[str, Any], components: dict[str, Any], depth: int) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), None)
    if kind == "object" or "properties" in schema:
        properties: dict[str, Any] = schema.get("properties", {})
        required = schema.get("required", [])
        return {
            name: example_for(properties[name], components, depth + 1)
            for name in properties
            if name in required
        }
    if kind == "array":
        item = example_for(schema.get("items", {}), components, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "string":
        text = _FORMATS.get(str(schema.get("format")), "text")
        low = int(schema.get("minLength", 0))
        return text if len(text) >= low else text + "x" * (low - len(text))
    return None


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    value: float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    return int(value) if integer else float(value)
