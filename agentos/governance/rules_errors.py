"""Error codes: the catalog in the document, and every code an operation can raise
documented on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from agentos.errors.catalog import CATALOG
from agentos.governance import reach
from agentos.governance.model import Problem, Subject, rule
from agentos.governance.rules_responses import code_table, json_content, responses
from agentos.server.deps import refuse_writes_in_maintenance
from agentos.services.actions import pipeline, registry

# Dependencies that do something only for writes; a GET passes through them.
WRITE_ONLY: frozenset[Callable[..., Any]] = frozenset({refuse_writes_in_maintenance})
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@rule(
    "errors.catalog",
    "The document carries the error catalog: every code with its status, exit code, meaning",
    item=8,
    fix="Add the code to agentos/errors/catalog.py (kind and meaning); run governance errors",
)
def catalog(subject: Subject) -> Iterator[Problem]:
    table = code_table(subject)
    if not table:
        yield Problem("no x-error-codes in the document", where="document")
        return
    for code in sorted(set(CATALOG) - set(table)):
        yield Problem(f"{code} is in the catalog but not in the document", where=code)
    for code, row in sorted(table.items()):
        if not str(row.get("meaning", "")).strip():
            yield Problem(f"{code} has no meaning", where=code)
        if row.get("kind") and not (row.get("http_status") and row.get("exit_code")):
            yield Problem(f"{code} has no HTTP status or exit code", where=code)
    for code in subject.spec.get("x-global-error-codes") or []:
        if code not in table:
            yield Problem(f"global code {code} is not in the catalog", where=code)


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


# Pipeline steps that do something only for some calls: finding the action by name (a
# route that runs one fixed action never misses) and resolving a short job id.
BY_NAME_ONLY = ("find",)
JOB_ID_ONLY = ("_with_full_ids",)


def action_roots(name: str | None) -> tuple[list[Callable[..., Any]], list[Callable[..., Any]]]:
    """(what an admin action route also runs: the pipeline and the handlers, the pipeline
    steps that cannot apply to it)."""
    if not name:
        return [], []
    registry.load()
    specs = registry.all_actions() if name == "*" else [registry.require(name)]
    skipped: set[str] = set()
    if name != "*":
        skipped.update(BY_NAME_ONLY)
        if "job_id" not in specs[0].payload.model_fields:
            skipped.update(JOB_ID_ONLY)
    steps = vars(pipeline._Run)
    run = [value for value in steps.values() if callable(value)]
    return [*run, *(spec.handler for spec in specs)], [steps[attr] for attr in skipped]


Roots = tuple[list[Callable[..., Any]], list[Callable[..., Any]]]


def route_roots(subject: Subject) -> dict[str, Roots]:
    """ "METHOD /path" -> (the endpoint and what it runs, what not to walk into)."""
    found: dict[str, Roots] = {}
    documented = {op.key: op for op in subject.operations()}
    for context in iter_route_contexts(subject.app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        calls = list(_calls(context.dependant))
        for method in context.methods or ():
            key = f"{method} {context.path_format}"
            operation = documented.get(key)
            if operation is None:
                continue
            kept = [c for c in calls if method not in SAFE or c not in WRITE_ONLY]
            extra, skip = action_roots(operation.spec.get("x-admin-action"))
            found[key] = ([route.endpoint, *kept, *extra], skip)
    return found


def raisable(roots: Roots, global_codes: set[str]) -> set[str]:
    """The API codes the roots can raise, less those the document lists once for all."""
    walk, skip = roots
    return {
        code
        for code in reach.codes_of(walk, skip=skip)
        if code not in global_codes and (code not in CATALOG or CATALOG[code].where == "api")
    }


@rule(
    "errors.documented",
    "Every error code an operation can raise is documented on it (static call analysis)",
    item=8,
    fix="Add the code to the operation (server/api_docs.py DOMAIN_CODES) under its status",
)
def documented_codes(subject: Subject) -> Iterator[Problem]:
    global_codes = set(subject.spec.get("x-global-error-codes") or [])
    roots = route_roots(subject)
    for operation in subject.operations():
        listed: set[str] = set()
        for _, answer in responses(operation, ("4", "5")):
            examples = (json_content(answer) or {}).get("examples")
            listed |= set(examples) if isinstance(examples, dict) else set()
        missing = raisable(roots.get(operation.key, ([], [])), global_codes) - listed
        if missing:
            yield Problem(f"can raise {', '.join(sorted(missing))} (undocumented)", operation)
