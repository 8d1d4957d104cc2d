"""`agentos action NAME [key=value ...]` and `agentos action --list`.

`agentos action NAME --help` adds the action's own payload fields (from the catalog) to
the command's help.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperCommand

from agentos.cli import _action_help
from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption, YesOption, examples
from agentos.cli._output import console, emit, err_console, fail, handle_errors, table
from agentos.errors import AgentOSError

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.actions import ActionInfo, ActionResponse

command = typer.Typer(add_completion=False)
HELP_KEY = "agentos.action_help"
# Options of `agentos action` that take a value (to find NAME among the raw arguments).
VALUE_OPTIONS = frozenset({"--payload", "--idempotency-key", "--reason", "--server", "--token"})


def parse_payload(payload_json: str | None) -> dict[str, Any]:
    """--payload JSON, checked before anything is sent."""
    if not payload_json:
        return {}
    try:
        loaded = json.loads(payload_json)
    except json.JSONDecodeError as exc:
        fail(f"--payload is not valid JSON: {exc.msg} (at character {exc.pos})")
    if not isinstance(loaded, dict):
        fail("--payload must be a JSON object")
    return loaded


def parse_params(params: list[str], payload: dict[str, Any], info: ActionInfo) -> dict[str, Any]:
    """key=value pairs on top of --payload, each typed as its field expects (text fields
    stay text, others are JSON when they parse); a bare value is the action's one field."""
    by_name = {field.name: field for field in _action_help.fields(info)}
    bare = _action_help.positional_field(info)
    result = dict(payload)
    for param in params:
        key, sep, raw = param.partition("=")
        key = key.strip()
        if sep and key in by_name:
            result[key] = _action_help.parse_value(raw, by_name[key])
        elif sep and key.isidentifier():
            fail(f"{info.name} has no field {key!r}; {_fields_hint(info)}")
        elif bare is not None and bare.name not in result:
            result[bare.name] = _action_help.parse_value(param, bare)
        else:
            fail(f"expected key=value, got {param!r}; {_fields_hint(info)}")
    return result


def _fields_hint(info: ActionInfo) -> str:
    names = [field.name for field in _action_help.fields(info)]
    listed = ", ".join(f"{name}=..." for name in names) if names else "no fields"
    return f"{info.name} takes {listed} (`agentos action {info.name} --help` describes them)"


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
    wide = console.width >= 120  # permission and rate only where they fit beside the text
    columns = ["action", "description", *(["permission", "rate"] if wide else [])]
    rows = []
    for item in items:
        description = Text("dangerous: ", style="bold red") if item.dangerous else Text()
        description.append(item.summary)
        extra = [item.permission, f"{item.rate_limit}/{item.rate_window_s}s"] if wide else []
        rows.append((item.name, description, *extra))
    rendered = table("Admin actions", columns, rows)
    # The name is what people copy into the next command: never cut it.
    rendered.columns[0].no_wrap = True
    rendered.columns[0].min_width = max((len(item.name) for item in items), default=6)
    console.print(rendered)
    console.print("`agentos action NAME --help` shows an action's fields", highlight=False)


def _render_response(response: ActionResponse) -> None:
    line = Text.assemble(("ok", "green"), " ", response.action)
    if response.dry_run:
        line.append("  DRY RUN: nothing was changed", style="bold yellow")
    if response.replayed:
        line.append(
            "  REPLAYED: the stored answer to this idempotency key; nothing ran again",
            style="bold cyan",
        )
    took = f", {response.duration_ms:.1f} ms" if response.duration_ms is not None else ""
    line.append(f"  (audit #{response.audit_seq}, trace {response.trace_id}{took})")
    console.print(line, highlight=False)
    console.print_json(json.dumps(response.result, default=str))


def require_action(backend: Backend, name: str) -> ActionInfo:
    info = backend.describe(name)
    if info is not None:
        return info
    near = difflib.get_close_matches(name, [item.name for item in backend.catalog()], n=3)
    hint = f"did you mean {', '.join(near)}? " if near else ""
    fail(f"unknown action {name!r}; {hint}`agentos action --list` shows the catalog")


def run_described(
    backend: Backend, info: ActionInfo, payload: dict[str, Any], *, key: str | None, yes: bool
) -> ActionResponse:
    _confirm(info, payload, yes)
    return backend.run_action(info.name, payload, idempotency_key=key)


def run_named(
    backend: Backend, name: str, payload: dict[str, Any], *, key: str | None, yes: bool
) -> ActionResponse:
    """Run `name` as `agentos action` does: ask before a destructive one. The reason in
    the audit is only what the operator gave (the OS user is in the record's source)."""
    return run_described(backend, require_action(backend, name), payload, key=key, yes=yes)


class ActionCommand(TyperCommand):
    """`agentos action NAME --help` also describes NAME's payload."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if any(arg in ctx.help_option_names for arg in args):
            ctx.meta[HELP_KEY] = _scan(args)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super().format_help(ctx, formatter)
        wanted = ctx.meta.get(HELP_KEY) or {}
        if wanted.get("name"):
            _describe(wanted["name"], wanted.get("--server"), wanted.get("--token"))


def _scan(args: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {"--server": os.environ.get("AGENTOS_SERVER")}
    found["--token"] = os.environ.get("AGENTOS_TOKEN")
    words = iter(args)
    for word in words:
        option, sep, value = word.partition("=")
        if option in VALUE_OPTIONS:
            found[option] = value if sep else next(words, None)
        elif not word.startswith("-") and "name" not in found:
            found["name"] = word
    return found


def _describe(name: str, server: str | None, token: str | None) -> None:
    try:
        with opened(server, token) as backend:
            info = backend.describe(name)
    except AgentOSError as error:
        err_console.print(f"(cannot describe {name}: {error.message})", markup=False)
        return
    if info is None:
        err_console.print(f"unknown action {name!r}; `agentos action --list` shows the catalog")
        return
    console.print(_action_help.header(info), highlight=False)
    console.print(Text("\nPayload fields", style="bold"))
    console.print(_action_help.fields_table(info), highlight=False)
    console.print(Text("\nUsage", style="bold"))
    for line in _action_help.usage_examples(info):
        console.print(f"  {line}", markup=False, highlight=False)


@command.command(
    "action",
    cls=ActionCommand,
    epilog=examples(
        "agentos action --list",
        "agentos action job.cancel --help          # the action's fields",
        "agentos action job.cancel be1ce8cf --reason 'stuck since 02:10'",
        "agentos action job.set_priority job_id=be1ce8cf priority=50",
        "agentos action queue.clear dry_run=true   # what it would do; changes nothing",
        "agentos action queue.clear --yes --json",
        "agentos action queue.pause --idempotency-key nightly-2024-05-01",
    ),
)
@handle_errors
def action(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Action name, e.g. job.cancel (--list shows them all).",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Argument(
            help="Payload fields as key=value; an action with one field also takes the "
            "bare value (job.cancel be1ce8cf). Job ids may be unique prefixes.",
            metavar="KEY=VALUE",
            show_default=False,
        ),
    ] = None,
    payload: Annotated[
        str | None, typer.Option("--payload", help="Payload as a JSON object.", metavar="JSON")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key", help="Safe retries: same key, same answer.", metavar="KEY"
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why: kept in the audit record.", metavar="TEXT"),
    ] = None,
    list_actions: Annotated[
        bool, typer.Option("--list", help="Show the catalog with a description per action.")
    ] = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Run an admin action through the audited, rate-limited, idempotent pipeline.
    `agentos action NAME --help` shows NAME's fields."""
    body = parse_payload(payload)
    with opened(server, token) as backend:
        if list_actions:
            emit(backend.catalog(), as_json=as_json, render=_render_catalog)
            return
        if not name:
            fail("give an action name (e.g. agentos action queue.pause), or --list for the catalog")
        info = require_action(backend, name)
        body = parse_params(params or [], body, info)
        if reason is not None:
            body["reason"] = reason
        response = run_described(backend, info, body, key=idempotency_key, yes=yes)
    emit(response, as_json=as_json, render=_render_response)
