"""`agentos action NAME [key=value ...]` and `agentos action --list`."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated, Any

import typer

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption, YesOption
from agentos.cli._output import console, emit, fail, handle_errors, print_json, table
from agentos.client import Backend
from agentos.schemas.actions import ActionInfo, ActionResponse


def parse_params(params: list[str], payload_json: str | None) -> dict[str, Any]:
    """--payload JSON, then key=value pairs on top (values parsed as JSON when they parse)."""
    payload: dict[str, Any] = {}
    if payload_json:
        try:
            loaded = json.loads(payload_json)
        except json.JSONDecodeError as exc:
            fail(f"--payload is not valid JSON: {exc.msg} (at character {exc.pos})")
        if not isinstance(loaded, dict):
            fail("--payload must be a JSON object")
        payload.update(loaded)
    for param in params:
        key, sep, raw = param.partition("=")
        if not sep or not key.strip():
            fail(f"expected key=value, got {param!r}")
        try:
            payload[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            payload[key.strip()] = raw
    return payload


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return "unknown"


def _confirm(info: ActionInfo, payload: dict[str, Any], yes: bool) -> None:
    if not info.dangerous or payload.get("dry_run") or payload.get("confirm"):
        return
    if yes:
        payload["confirm"] = True
        return
    if not sys.stdin.isatty():
        fail(f"{info.name} is destructive: pass --yes to run it (or dry_run=true to preview)")
    if not typer.confirm(f"{info.name}: {info.summary}. Run it?", default=False):
        fail("aborted", kind="conflict")
    payload["confirm"] = True


def _render_catalog(items: list[ActionInfo]) -> None:
    rows = [
        (
            item.name,
            item.view,
            item.permission,
            f"{item.rate_class} {item.rate_limit}/{item.rate_window_s}s",
            "yes" if item.dangerous else "",
        )
        for item in items
    ]
    columns = ("action", "view", "permission", "rate", "dangerous")
    rendered = table("Admin actions", columns, rows)
    # The name is what people copy into the next command: never cut it.
    rendered.columns[0].no_wrap = True
    rendered.columns[0].min_width = max((len(item.name) for item in items), default=6)
    console.print(rendered)


def _render_response(response: ActionResponse) -> None:
    flags = [
        flag for flag, on in (("dry run", response.dry_run), ("replayed", response.replayed)) if on
    ]
    extra = f" [{', '.join(flags)}]" if flags else ""
    console.print(
        f"[green]ok[/green] {response.action}{extra} - audit #{response.audit_seq}, "
        f"trace {response.trace_id}, {response.duration_ms} ms",
        highlight=False,
    )
    console.print_json(json.dumps(response.result, default=str))


def run_named(
    backend: Backend, name: str, payload: dict[str, Any], *, key: str | None, yes: bool
) -> ActionResponse:
    """Run `name` as `agentos action` does: ask before a destructive one, record the OS
    user as the reason unless one is given."""
    info = backend.describe(name)
    if info is None:
        fail(f"unknown action {name!r}; `agentos action --list` shows the catalog")
    _confirm(info, payload, yes)
    payload.setdefault("reason", _os_user())
    return backend.run_action(name, payload, idempotency_key=key)


@handle_errors
def action(
    name: Annotated[str | None, typer.Argument(help="Action name, e.g. job.cancel.")] = None,
    params: Annotated[
        list[str] | None, typer.Argument(help="Payload fields as key=value.", show_default=False)
    ] = None,
    payload: Annotated[
        str | None, typer.Option("--payload", help="Payload as a JSON object.")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Safe retries: same key, same answer.")
    ] = None,
    list_actions: Annotated[bool, typer.Option("--list", help="Show the catalog.")] = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Run an admin action through the audited, rate-limited, idempotent pipeline."""
    with opened(server, token) as backend:
        if list_actions:
            items = backend.catalog()
            if as_json:
                print_json(items)
            else:
                _render_catalog(items)
            return
        if not name:
            fail("give an action name, or --list for the catalog")
        body = parse_params(params or [], payload)
        response = run_named(backend, name, body, key=idempotency_key, yes=yes)
        emit(response, as_json=as_json, render=_render_response)
