"""The seed's rules on the shape of the API: inventory and bands, tags, naming, methods."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi.routing import APIRoute, iter_route_contexts

from agentos.governance.model import Problem, Subject, rule

# The seed's bands for the operation count.
HEALTHY_BELOW = 40
CAUTION_UP_TO = 45
LIMIT = 50
PUBLIC_UNTAGGED = frozenset({"GET /", "GET /health"})
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# Words that make a path segment an action (RPC style) rather than a resource.
VERBS = frozenset(
    {
        "add", "approve", "cancel", "change", "clear", "create", "delete", "disable", "do",
        "enable", "execute", "fetch", "finalize", "get", "init", "initialize", "list",
        "login", "logout", "make", "process", "refresh", "reject", "remove", "reset",
        "restart", "retry", "run", "send", "set", "start", "stop", "submit", "sync",
        "trigger", "update",
    }
)  # fmt: skip


def band(count: int) -> tuple[str, str]:
    """(the seed's word, its emoji) for an operation count."""
    if count < HEALTHY_BELOW:
        return "Healthy", "🟢"
    if count <= CAUTION_UP_TO:
        return "Caution", "🟡"
    if count <= LIMIT:
        return "Warning", "⚠️"
    return "Critical", "❌"


@rule(
    "inventory.budget",
    "Operation count within the seed's bands (<40 healthy, 40-45 caution, 45-50 warning)",
    item=10,
    fix="Merge or retire operations (an alias stays undocumented) to get under the next band",
)
def budget(subject: Subject) -> Iterator[Problem]:
    count = len(subject.operations())
    word, _ = band(count)
    message = f"{count} documented operations: {word} ({count}/{LIMIT})"
    if word == "Critical":
        yield Problem(message, where="document", severity="error")
    elif word == "Warning":
        yield Problem(message, where="document", severity="warning")
    elif word == "Caution":
        yield Problem(message, where="document", severity="info")


def app_routes(subject: Subject) -> Iterator[tuple[str, set[str], bool]]:
    """(path, methods, documented) for every route of the app."""
    for context in iter_route_contexts(subject.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            path = context.path_format or route.path_format
            yield path, set(context.methods or ()), route.include_in_schema
        else:
            path = str(getattr(context, "path", None) or getattr(route, "path", ""))
            methods = set(getattr(route, "methods", None) or ())
            yield path, methods, bool(getattr(route, "include_in_schema", False)) and bool(methods)


def undocumented_list(subject: Subject) -> dict[str, str]:
    entries = subject.spec.get("x-undocumented-routes") or []
    return {
        str(entry.get("path")): str(entry.get("reason") or "")
        for entry in entries
        if isinstance(entry, dict)
    }


@rule(
    "inventory.documented",
    "Every route of the app is documented, or listed as undocumented with a reason",
    item=7,
    fix="Document the route, or list it in x-undocumented-routes (server/api_docs.py) with why",
)
def documented(subject: Subject) -> Iterator[Problem]:
    listed = undocumented_list(subject)
    paths = subject.spec.get("paths", {})
    for path, methods, in_schema in app_routes(subject):
        if in_schema:
            missing = {m for m in methods - {"HEAD"} if m.lower() not in paths.get(path, {})}
            if missing:
                yield Problem(f"{sorted(missing)} {path} is routed but not in the document")
            continue
        if path not in listed:
            yield Problem(f"{path} is served but neither documented nor listed", where=path)
        elif not listed[path].strip():
            yield Problem(f"{path} is listed as undocumented without a reason", where=path)


@rule(
    "inventory.stale-undocumented",
    "Every listed undocumented route exists",
    item=7,
    severity="warning",
    fix="Remove the entry from x-undocumented-routes",
)
def stale_undocumented(subject: Subject) -> Iterator[Problem]:
    served = {path for path, _, _ in app_routes(subject)}
    for path in undocumented_list(subject):
        if path not in served:
            yield Problem(f"{path} is listed as undocumented but no route serves it", where=path)


@rule(
    "inventory.summary",
    "Every operation has a summary",
    item=7,
    fix="Give the route a summary= (one line, what it does)",
)
def summaries(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        if not str(operation.spec.get("summary", "")).strip():
            yield Problem("no summary", operation)


@rule(
    "tags.present",
    "Every operation has a tag (the seed exempts / and /health)",
    item=3,
    fix="Give the router or route tags=[...] (one of the declared tags)",
)
def tags_present(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        if not operation.spec.get("tags") and operation.key not in PUBLIC_UNTAGGED:
            yield Problem("no tag", operation)


@rule(
    "tags.declared",
    "Only declared tags, each with a description (the seed's endpoint categories)",
    item=1,
    fix="Declare the tag in the document's tags (server/api_docs.py TAGS) with a description",
)
def tags_declared(subject: Subject) -> Iterator[Problem]:
    declared = {
        tag.get("name"): tag.get("description")
        for tag in subject.spec.get("tags", [])
        if isinstance(tag, dict)
    }
    for name, description in declared.items():
        if not str(description or "").strip():
            yield Problem(f"tag {name!r} has no description", where=f"tag {name}")
    for operation in subject.operations():
        for tag in operation.spec.get("tags", []):
            if tag not in declared:
                yield Problem(f"tag {tag!r} is not declared", operation)


def static_segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part and not part.startswith("{")]


@rule(
    "naming.kebab-case",
    "Lowercase kebab-case path segments, snake_case path parameters",
    item=1,
    fix="Rename the segment to lowercase-kebab-case (keep the old path as an undocumented alias)",
)
def kebab_case(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        for part in operation.path.split("/"):
            if not part:
                continue
            if part.startswith("{"):
                if not SNAKE.match(part.strip("{}")):
                    yield Problem(f"path parameter {part} is not snake_case", operation)
            elif not KEBAB.match(part):
                yield Problem(f"segment {part!r} is not lowercase kebab-case", operation)


def verbs_in(path: str) -> list[str]:
    return [word for part in static_segments(path) for word in part.split("-") if word in VERBS]


@rule(
    "naming.no-verbs",
    "Paths name resources, not actions (the seed's own action routes are excused)",
    item=1,
    fix="Name the resource and let the method say the action (e.g. POST /api/jobs)",
)
def no_verbs(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        found = verbs_in(operation.path)
        if found:
            yield Problem(f"verb(s) {', '.join(found)} in the path", operation)


@rule(
    "methods.safe-get",
    "No GET that changes state",
    item=6,
    fix="Make it a POST (or run it as an admin action through POST /api/admin/action)",
)
def safe_get(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        if operation.method != "GET":
            continue
        if verbs_in(operation.path):
            yield Problem(f"GET with an action in its path ({operation.path})", operation)
        if operation.spec.get("x-admin-action"):
            yield Problem("GET runs an admin action (a write)", operation)


@rule(
    "methods.no-get-body",
    "No request body on GET (or DELETE)",
    item=6,
    fix="Take the input as query parameters, or make the operation a POST",
)
def no_get_body(subject: Subject) -> Iterator[Problem]:
    for operation in subject.operations():
        if operation.method in ("GET", "DELETE", "HEAD") and "requestBody" in operation.spec:
            yield Problem(f"{operation.method} declares a request body", operation)
