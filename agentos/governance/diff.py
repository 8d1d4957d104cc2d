"""`agentos governance diff`: the API now against its committed snapshot, each change
classified. A breaking change fails the diff unless `docs/api-changes-accepted.json` accepts
it (by its id) with a reason; the versioning policy (docs/api-versioning.md) says when one
may be accepted rather than made as a new, deprecating operation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentos.governance.schema_diff import Comparer

ACCEPTED_PATH = Path("docs/api-changes-accepted.json")


@dataclass(frozen=True)
class Change:
    kind: str
    breaking: bool
    operation: str
    where: str
    detail: str

    @property
    def id(self) -> str:
        return f"{self.kind}: {self.operation} {self.where}".strip()


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    comparer = Comparer(old.get("schemas", {}), new.get("schemas", {}))
    changes = list(_operations(old.get("operations", {}), new.get("operations", {}), comparer))
    changes += _codes(old.get("error_codes", {}), new.get("error_codes", {}))
    if old.get("api_version") != new.get("api_version"):
        detail = f"{old.get('api_version')} -> {new.get('api_version')}"
        changes.append(Change("api version", False, "document", "x-api-version", detail))
    return changes


def _operations(old: dict[str, Any], new: dict[str, Any], comparer: Comparer) -> Iterator[Change]:
    for key in sorted(set(new) - set(old)):
        yield Change("added endpoint", False, key, "", "new operation")
    for key in sorted(set(old) - set(new)):
        yield Change("removed endpoint", True, key, "", "operation gone")
    for key in sorted(set(old) & set(new)):
        yield from _operation(key, old[key], new[key], comparer)


def _operation(
    key: str, old: dict[str, Any], new: dict[str, Any], cmp: Comparer
) -> Iterator[Change]:
    if new.get("security") and not old.get("security"):
        yield Change("newly requires authentication", True, key, "security", "token needed")
    if new.get("deprecated") and not old.get("deprecated"):
        yield Change("deprecated", False, key, "", "see its Sunset")
    if old.get("tier") != new.get("tier"):
        yield Change(
            "rate tier changed",
            False,
            key,
            "x-rate-limit",
            f"{old.get('tier')} -> {new.get('tier')}",
        )
    yield from _parameters(key, old.get("parameters", {}), new.get("parameters", {}), cmp)
    yield from _body(key, old.get("request_body"), new.get("request_body"), cmp)
    yield from _responses(key, old.get("responses", {}), new.get("responses", {}), cmp)


def _parameters(
    key: str, old: dict[str, Any], new: dict[str, Any], cmp: Comparer
) -> Iterator[Change]:
    for name in sorted(set(old) - set(new)):
        yield Change("removed parameter", True, key, name, "no longer taken")
    for name in sorted(set(new) - set(old)):
        if new[name]["required"]:
            yield Change("newly required parameter", True, key, name, "new and required")
        else:
            yield Change("added parameter", False, key, name, "new, optional")
    for name in sorted(set(old) & set(new)):
        if new[name]["required"] and not old[name]["required"]:
            yield Change("newly required parameter", True, key, name, "now required")
        for found in cmp.compare(old[name]["schema"], new[name]["schema"], name, "request"):
            yield Change(found.kind, found.breaking, key, found.where, found.detail)


def _body(key: str, old: Any, new: Any, cmp: Comparer) -> Iterator[Change]:
    if old is None and new is None:
        return
    if old is None:
        breaking = bool(new["required"])
        yield Change(
            "added request body", breaking, key, "body", "required" if breaking else "optional"
        )
        return
    if new is None:
        yield Change("removed request body", True, key, "body", "no longer read")
        return
    if new["required"] and not old["required"]:
        yield Change("newly required parameter", True, key, "body", "the body is now required")
    for media in sorted(set(old["media"]) - set(new["media"])):
        yield Change("removed media type", True, key, f"body {media}", "no longer accepted")
    for media in sorted(set(old["media"]) & set(new["media"])):
        for found in cmp.compare(old["media"][media], new["media"][media], "body", "request"):
            yield Change(found.kind, found.breaking, key, found.where, found.detail)


def _responses(
    key: str, old: dict[str, Any], new: dict[str, Any], cmp: Comparer
) -> Iterator[Change]:
    for status in sorted(set(old) - set(new)):
        yield Change("removed response code", True, key, status, "no longer documented")
    for status in sorted(set(new) - set(old)):
        yield Change("added response code", False, key, status, "new answer")
    for status in sorted(set(old) & set(new)):
        before, after = old[status], new[status]
        for code in sorted(set(after.get("codes", [])) - set(before.get("codes", []))):
            yield Change("added error code", False, key, f"{status} {code}", "new answer")
        for media in sorted(set(before["media"]) & set(after["media"])):
            where = f"{status}"
            for found in cmp.compare(
                before["media"][media], after["media"][media], where, "response"
            ):
                yield Change(found.kind, found.breaking, key, found.where, found.detail)


def _codes(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    for code in sorted(set(old) - set(new)):
        yield Change("removed error code", True, "catalog", code, "scripts may match on it")
    for code in sorted(set(new) - set(old)):
        yield Change("added error code", False, "catalog", code, "new code")
    for code in sorted(set(old) & set(new)):
        for field in ("http_status", "exit_code"):
            if old[code].get(field) != new[code].get(field):
                detail = f"{field} {old[code].get(field)} -> {new[code].get(field)}"
                yield Change("changed error code", True, "catalog", code, detail)


@dataclass(frozen=True)
class Accepted:
    change: str
    reason: str


def load_accepted(path: Path) -> list[Accepted]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Accepted(str(e.get("change", "")), str(e.get("reason", "")))
        for e in data.get("accepted", [])
    ]


@dataclass
class DiffResult:
    changes: list[Change]
    accepted: list[Accepted]

    def reason_for(self, change: Change) -> str | None:
        for entry in self.accepted:
            if entry.change == change.id and entry.reason.strip():
                return entry.reason
        return None

    @property
    def unaccepted(self) -> list[Change]:
        return [c for c in self.changes if c.breaking and self.reason_for(c) is None]

    @property
    def stale(self) -> list[Accepted]:
        ids = {change.id for change in self.changes}
        return [entry for entry in self.accepted if entry.change not in ids]

    @property
    def ok(self) -> bool:
        return not self.unaccepted

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "changes": [
                {**asdict(c), "id": c.id, "accepted": self.reason_for(c)} for c in self.changes
            ],
            "unaccepted_breaking": [c.id for c in self.unaccepted],
            "stale_acceptances": [asdict(entry) for entry in self.stale],
        }


def render_text(result: DiffResult) -> str:
    if not result.changes:
        lines = ["API unchanged since the snapshot."]
    else:
        breaking = sum(1 for c in result.changes if c.breaking)
        lines = [f"{len(result.changes)} change(s) since the snapshot, {breaking} breaking:"]
    for change in result.changes:
        reason = result.reason_for(change)
        mark = "ACCEPTED" if reason else ("BREAKING" if change.breaking else "ok")
        lines.append(f"  [{mark:8}] {change.id} ({change.detail})")
        if reason:
            lines.append(f"             reason: {reason}")
    for entry in result.stale:
        lines.append(f"  note: acceptance no longer matches a change: {entry.change}")
    if result.unaccepted:
        lines.append(
            f"FAIL: {len(result.unaccepted)} breaking change(s) not accepted. Keep the old "
            "operation (deprecated, see docs/api-versioning.md), or accept each id in "
            f"{ACCEPTED_PATH} with a reason."
        )
    elif result.changes:
        lines.append("Record them: agentos governance diff --update (commit the snapshot).")
    return "\n".join(lines)
