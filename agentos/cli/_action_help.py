"""An action's payload as people read it, from the catalog's JSON Schema: the fields with
their types, defaults and descriptions (`agentos action NAME --help`), the one field a
bare value stands for (`agentos action job.cancel be1ce8cf`), and values typed as the
field expects (`job_id=12345678` stays text)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from agentos.schemas.actions import ActionInfo

# Fields every payload (or every dangerous one) has; the CLI sets them from its options.
COMMON_FIELDS = ("reason", "confirm", "dry_run")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    default: Any
    description: str
    text: bool  # a string field: a typed value is taken as it is, never parsed as JSON


def fields(info: ActionInfo) -> list[Field]:
    schema = info.payload_schema
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    result = []
    for name, prop in schema.get("properties", {}).items():
        result.append(
            Field(
                name=name,
                type=type_name(prop, defs),
                required=name in required,
                default=prop.get("default"),
                description=str(prop.get("description") or ""),
                text=_is_text(prop, defs),
            )
        )
    # The action's own fields first, the common ones after.
    return sorted(result, key=lambda field: (field.name in COMMON_FIELDS, not field.required))


def own_fields(info: ActionInfo) -> list[Field]:
    return [field for field in fields(info) if field.name not in COMMON_FIELDS]


def positional_field(info: ActionInfo) -> Field | None:
    """The field a bare value stands for: the action's only field, or its only required
    one."""
    own = own_fields(info)
    if len(own) == 1:
        return own[0]
    required = [field for field in own if field.required]
    return required[0] if len(required) == 1 else None


def parse_value(raw: str, field: Field | None) -> Any:
    """A value as typed: text for a text field, else JSON when it parses, else text."""
    if field is not None and field.text:
        return None if raw == "null" and not field.required else raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def type_name(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        target = defs.get(str(prop["$ref"]).rsplit("/", 1)[-1], {})
        return type_name(target, defs) if target else "object"
    if "anyOf" in prop:
        options = [
            type_name(option, defs) for option in prop["anyOf"] if option.get("type") != "null"
        ]
        return " | ".join(dict.fromkeys(options)) or "null"
    if "enum" in prop:
        return "|".join(str(value) for value in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    kind = prop.get("type")
    if kind == "string":
        return {"uuid": "uuid", "date-time": "datetime", "date": "date"}.get(
            str(prop.get("format")), "text"
        )
    if kind in ("integer", "number"):
        low, high = prop.get("minimum"), prop.get("maximum")
        bounds = f" {low if low is not None else ''}..{high if high is not None else ''}"
        return ("integer" if kind == "integer" else "number") + (
            bounds if low is not None or high is not None else ""
        )
    if kind == "array":
        return f"list[{type_name(prop.get('items', {}), defs)}]"
    if kind == "boolean":
        return "true|false"
    if kind == "object":
        return "object"
    return "any (JSON)"


def _is_text(prop: dict[str, Any], defs: dict[str, Any]) -> bool:
    if "$ref" in prop:
        target = defs.get(str(prop["$ref"]).rsplit("/", 1)[-1], {})
        return _is_text(target, defs)
    if "anyOf" in prop:
        options = [option for option in prop["anyOf"] if option.get("type") != "null"]
        return bool(options) and all(_is_text(option, defs) for option in options)
    return prop.get("type") == "string"


def _default(field: Field) -> str:
    if field.required:
        return "required"
    if field.default is None:
        return "-"
    return json.dumps(field.default)


def fields_table(info: ActionInfo) -> Table:
    table = Table(title=None, header_style="bold", box=None, pad_edge=False)
    for column in ("field", "type", "default", "description"):
        table.add_column(column)
    table.columns[0].no_wrap = True
    for field in fields(info):
        table.add_row(
            Text(field.name, style="bold" if field.required else ""),
            escape(field.type),
            escape(_default(field)),
            escape(field.description),
        )
    return table


def usage_examples(info: ActionInfo) -> list[str]:
    bare = positional_field(info)
    own = own_fields(info)
    required = [field for field in own if field.required]
    lines = []
    if bare is not None:
        lines.append(f"agentos action {info.name} <{bare.name}>")
    if own:
        shown = required or own[:1]
        pairs = " ".join(f"{field.name}=<{field.type.split(' ')[0]}>" for field in shown)
        lines.append(f'agentos action {info.name} {pairs} --reason "why"')
    else:
        lines.append(f"agentos action {info.name}")
    if info.dangerous:
        lines.append(f"agentos action {info.name} {_sample(required)}dry_run=true")
        lines.append(f"agentos action {info.name} {_sample(required)}--yes --json")
    return lines


def _sample(required: list[Field]) -> str:
    return "".join(f"{field.name}=<{field.type.split(' ')[0]}> " for field in required)


def header(info: ActionInfo) -> Text:
    text = Text()
    text.append(info.name, style="bold")
    text.append(f": {info.summary}\n")
    text.append(
        f"permission {info.permission}, view {info.view}, rate {info.rate_class} "
        f"{info.rate_limit}/{info.rate_window_s}s, "
        f"{'read-only' if info.read_only else 'changes state'}"
    )
    if info.dangerous:
        text.append(
            "\ndangerous: asks before it runs (--yes skips the question); dry_run=true shows "
            "what it would do and changes nothing",
            style="yellow",
        )
    return text
