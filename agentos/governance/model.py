"""Rules, findings and the subject they are checked on.

A rule has an id (`area.name`), a severity (error: the check fails; warning and info are
reported only), a one-line fix and the item of the seed's governance checklist it belongs
to (the score counts the items with no error). An operation may be excused from a rule in
the document itself: `x-governance-suppress: {rule id: reason}`; the finding is reported as
suppressed, with the reason, and does not count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI

Severity = Literal["error", "warning", "info"]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The seed's "Current Compliance" checklist: the score is how many of these hold.
CHECKLIST: dict[int, str] = {
    1: "Endpoints properly categorized (tags, naming, versioning)",
    2: "All admin endpoints consolidated to SSOT pattern",
    3: "All endpoints have proper tags",
    4: "Authentication on all protected routes",
    5: "Rate limiting implemented (and documented)",
    6: "Standard response formats",
    7: "OpenAPI documentation",
    8: "Error handling standardized",
    9: "Legacy admin endpoints disabled",
    10: "Endpoint count under 50 limit",
}


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str
    spec: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def suppressed(self, rule_id: str) -> str | None:
        reasons = self.spec.get("x-governance-suppress") or {}
        reason = reasons.get(rule_id) if isinstance(reasons, dict) else None
        return str(reason) if reason else None


@dataclass
class Subject:
    """What the rules look at: the app (for its routes and a few in-process requests) and
    its OpenAPI document."""

    app: FastAPI
    spec: dict[str, Any]

    def operations(self) -> list[Operation]:
        return [
            Operation(method.upper(), path, operation)
            for path, item in self.spec.get("paths", {}).items()
            for method, operation in item.items()
            if method in HTTP_METHODS and isinstance(operation, dict)
        ]

    @property
    def components(self) -> dict[str, Any]:
        found: dict[str, Any] = self.spec.get("components", {}).get("schemas", {})
        return found

    def example(self, item: Any) -> Any:
        """An Example Object, its `$ref` to `components/examples` followed."""
        if isinstance(item, dict) and "$ref" in item:
            name = str(item["$ref"]).rsplit("/", 1)[-1]
            return self.spec.get("components", {}).get("examples", {}).get(name, {})
        return item

    def resolve(self, node: Any) -> Any:
        """`node` with `$ref`s to component schemas followed."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            node = self.components.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
            seen += 1
        return node


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    where: str
    message: str
    fix: str
    suppressed: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    item: int
    fix: str
    check: Callable[[Subject], Iterable[Finding | Problem]] = field(repr=False)

    def run(self, subject: Subject) -> Iterator[Finding]:
        for found in self.check(subject):
            if isinstance(found, Finding):
                yield found
                continue
            severity = found.severity or self.severity
            reason = found.operation.suppressed(self.id) if found.operation else None
            where = found.where or (found.operation.key if found.operation else "document")
            yield Finding(self.id, severity, where, found.message, found.fix or self.fix, reason)


@dataclass(frozen=True)
class Problem:
    """What a rule's check yields; the rule fills in its id, severity and fix."""

    message: str
    operation: Operation | None = None
    where: str | None = None
    severity: Severity | None = None
    fix: str | None = None


RULES: dict[str, Rule] = {}


def rule(
    id: str, title: str, *, item: int, fix: str, severity: Severity = "error"
) -> Callable[[Callable[[Subject], Iterable[Problem]]], Callable[[Subject], Iterable[Problem]]]:
    """Register a check as a rule."""

    def register(check: Callable[[Subject], Iterable[Problem]]) -> Callable[..., Any]:
        RULES[id] = Rule(id, title, severity, item, fix, check)
        return check

    return register
