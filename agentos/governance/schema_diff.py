"""How a schema changed, in the direction that matters: a request schema must still accept
what it accepted (narrowing breaks clients), a response must still hold what it promised
(a removed field, another type or a field no longer always there breaks them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["request", "response"]
LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
MAX_DEPTH = 24


@dataclass(frozen=True)
class SchemaChange:
    kind: str
    breaking: bool
    where: str
    detail: str


@dataclass
class Side:
    schemas: dict[str, Any]

    def resolve(self, node: Any) -> tuple[Any, str | None]:
        name = None
        hops = 0
        while isinstance(node, dict) and "$ref" in node and hops < 20:
            name = str(node["$ref"])
            node = self.schemas.get(name, {})
            hops += 1
        return node, name


def types_of(schema: Any, side: Side, depth: int = 0) -> set[str]:
    schema, _ = side.resolve(schema)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return set()
    found: set[str] = set()
    kind = schema.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(str(item) for item in kind)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            found |= types_of(option, side, depth + 1)
    return found


def _uncovered(wanted: set[str], offered: set[str]) -> set[str]:
    """The types of `wanted` that `offered` does not cover (a number covers an integer)."""
    missing = wanted - offered
    if "number" in offered:
        missing.discard("integer")
    return missing


def _narrower(old: Any, new: Any, key: str) -> bool:
    if new is None:
        return False
    if old is None:
        return True
    return bool(new > old) if key in LOWER_BOUNDS else bool(new < old)


class Comparer:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = Side(old), Side(new)
        self.seen: set[tuple[str | None, str | None, Direction]] = set()

    def compare(
        self, old: Any, new: Any, where: str, direction: Direction, depth: int = 0
    ) -> Iterator[SchemaChange]:
        old, old_name = self.old.resolve(old)
        new, new_name = self.new.resolve(new)
        if old_name or new_name:
            if (old_name, new_name, direction) in self.seen:
                return
            self.seen.add((old_name, new_name, direction))
        if depth > MAX_DEPTH or not isinstance(old, dict) or not isinstance(new, dict):
            return
        yield from self._types(old, new, where, direction)
        yield from self._values(old, new, where, direction)
        yield from self._objects(old, new, where, direction, depth)
        if "items" in old and "items" in new:
            yield from self.compare(old["items"], new["items"], f"{where}[]", direction, depth + 1)
        yield from self._unions(old, new, where, direction, depth)

    def _types(
        self, old: Any, new: Any, where: str, direction: Direction
    ) -> Iterator[SchemaChange]:
        before, after = types_of(old, self.old), types_of(new, self.new)
        if not before or not after:
            return
        lost = _uncovered(before, after) if direction == "request" else _uncovered(after, before)
        if lost:
            kind = "narrowed type" if direction == "request" else "changed response type"
            detail = f"{sorted(before)} -> {sorted(after)}"
            yield SchemaChange(kind, True, where, detail)

    def _values(
        self, old: Any, new: Any, where: str, direction: Direction
    ) -> Iterator[SchemaChange]:
        if "enum" in old and "enum" in new:
            removed = [v for v in old["enum"] if v not in new["enum"]]
            added = [v for v in new["enum"] if v not in old["enum"]]
            if direction == "request" and removed:
                yield SchemaChange("narrowed enum", True, where, f"no longer accepts {removed}")
            if direction == "response" and added:
                yield SchemaChange("widened response enum", False, where, f"may answer {added}")
        elif "enum" in new and "enum" not in old and direction == "request":
            yield SchemaChange("narrowed enum", True, where, f"now one of {new['enum']}")
        if direction != "request":
            return
        for key in (*LOWER_BOUNDS, *UPPER_BOUNDS):
            if _narrower(old.get(key), new.get(key), key):
                yield SchemaChange(
                    "narrowed bound", True, where, f"{key} {old.get(key)} -> {new.get(key)}"
                )
        for key in ("pattern", "format", "const"):
            if new.get(key) is not None and new.get(key) != old.get(key):
                yield SchemaChange(
                    "narrowed type", True, where, f"{key} {old.get(key)!r} -> {new.get(key)!r}"
                )

    def _objects(
        self, old: Any, new: Any, where: str, direction: Direction, depth: int
    ) -> Iterator[SchemaChange]:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        closed = new.get("additionalProperties") is False
        if direction == "request":
            for name in sorted(new_req - old_req):
                yield SchemaChange("newly required field", True, f"{where}.{name}", "now required")
            for name in sorted(set(old_props) - set(new_props)):
                if closed:
                    yield SchemaChange("removed field", True, f"{where}.{name}", "now refused")
            if closed and old.get("additionalProperties") is not False and old_props:
                yield SchemaChange("narrowed type", True, where, "additional properties refused")
        else:
            for name in sorted(set(old_props) - set(new_props)):
                yield SchemaChange("removed response field", True, f"{where}.{name}", "gone")
            for name in sorted(old_req - new_req):
                if name in new_props:
                    yield SchemaChange(
                        "response field optional", True, f"{where}.{name}", "may be missing"
                    )
        for name in sorted(set(old_props) & set(new_props)):
            yield from self.compare(
                old_props[name], new_props[name], f"{where}.{name}", direction, depth + 1
            )

    def _unions(
        self, old: Any, new: Any, where: str, direction: Direction, depth: int
    ) -> Iterator[SchemaChange]:
        for key in ("oneOf", "anyOf"):
            before, after = old.get(key, []), new.get(key, [])
            refs_before = {o["$ref"]: o for o in before if isinstance(o, dict) and "$ref" in o}
            refs_after = {o["$ref"]: o for o in after if isinstance(o, dict) and "$ref" in o}
            if refs_before and refs_after:
                if direction == "request":
                    for name in sorted(set(refs_before) - set(refs_after)):
                        yield SchemaChange("removed variant", True, f"{where}<{name}>", "gone")
                for name in sorted(set(refs_before) & set(refs_after)):
                    yield from self.compare(
                        refs_before[name],
                        refs_after[name],
                        f"{where}<{name}>",
                        direction,
                        depth + 1,
                    )
            elif len(before) == len(after):
                for index, (a, b) in enumerate(zip(before, after, strict=True)):
                    yield from self.compare(a, b, f"{where}<{index}>", direction, depth + 1)
