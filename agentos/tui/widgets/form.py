"""Forms built from an action's payload model (its pydantic JSON schema).

`fields_of(schema)` turns the schema into plain field descriptions; `parse(fields, raw)`
turns what the operator typed into a payload. The pipeline validates the payload again
(with the real model), so this only has to coerce types and skip blanks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentos.errors import InvalidError

# Filled in by the confirmation dialog, never typed.
MANAGED = frozenset({"confirm"})
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # string, integer, number, boolean, object, array
    required: bool
    description: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None

    @property
    def hint(self) -> str:
        parts = [self.kind]
        if self.choices:
            parts = ["|".join(self.choices)]
        if not self.required:
            parts.append("optional")
        if self.description:
            parts.append(self.description)
        return " · ".join(parts)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return defs.get(ref.rsplit("/", 1)[-1], {})
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if options:
        return {**_resolve(options[0], defs), **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def fields_of(schema: dict[str, Any]) -> list[Field]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    result = []
    for name, raw in schema.get("properties", {}).items():
        if name in MANAGED:
            continue
        prop = _resolve(raw, defs)
        choices = tuple(str(value) for value in prop.get("enum", ()))
        kind = "string" if choices else str(prop.get("type", "string"))
        result.append(
            Field(
                name=name,
                kind=kind,
                required=name in required,
                description=str(prop.get("description") or raw.get("description") or ""),
                choices=choices,
                default=raw.get("default"),
            )
        )
    return result


def _coerce(field: Field, text: str) -> Any:
    try:
        if field.kind == "integer":
            return int(text)
        if field.kind == "number":
            return float(text)
        if field.kind == "boolean":
            lowered = text.lower()
            if lowered not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError("expected yes or no")
            return lowered in TRUE_WORDS
        if field.kind in ("object", "array"):
            return json.loads(text)
    except ValueError as exc:
        raise InvalidError(f"{field.name}: {exc}", code="VALIDATION_ERROR") from None
    if field.choices and text not in field.choices:
        raise InvalidError(
            f"{field.name}: one of {', '.join(field.choices)}", code="VALIDATION_ERROR"
        )
    return text


def parse(fields: list[Field], raw: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for field in fields:
        text = (raw.get(field.name) or "").strip()
        if not text:
            if field.required:
                raise InvalidError(f"{field.name} is required", code="VALIDATION_ERROR")
            continue
        payload[field.name] = _coerce(field, text)
    return payload


def field_error(name: str, message: str) -> InvalidError:
    """A problem with what was typed in field `name` (a form shows it under that field)."""
    return InvalidError(f"{name}: {message}", code="VALIDATION_ERROR", details={"field": name})


def ordered(fields: list[Field]) -> list[Field]:
    """Required fields first, then the optional ones, `reason` last (schema order within)."""
    return sorted(fields, key=lambda field: (not field.required, field.name == "reason"))


def parse_pairs(words: list[str], fields: list[Field] | None = None) -> dict[str, str]:
    """`key=value` words of the command line. A bare word is the value of the action's one
    required field (`job.cancel 2a9206f7`); anything else is a clear error."""
    pairs: dict[str, str] = {}
    bare: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            bare.append(word)
            continue
        pairs[key] = value
    if not bare:
        return pairs
    required = [field.name for field in fields or [] if field.required]
    if len(bare) == 1 and len(required) == 1 and required[0] not in pairs:
        pairs[required[0]] = bare[0]
        return pairs
    hint = (
        f"; a value without a name is only taken for the one required field ({required[0]})"
        if len(required) == 1
        else ""
    )
    raise InvalidError(f"expected key=value, got {bare[0]!r}{hint}", code="VALIDATION_ERROR")
