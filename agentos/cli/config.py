"""`agentos config get|set|reset|history|export|import`: the runtime configuration, through
the config.* actions (audited, validated by the server, applied live in every process)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption, YesOption, examples
from agentos.cli._output import console, emit, err_console, fail, handle_errors, print_json, table
from agentos.cli.action import run_named
from agentos.errors import InvalidError

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.actions_config import (
        ConfigHistoryResult,
        ConfigImportResult,
        ConfigSetResult,
    )
    from agentos.schemas.actions_reads import ConfigGetResult

app = typer.Typer(
    help="Runtime configuration, applied live (the config.* actions).",
    no_args_is_help=True,
    add_completion=False,
)
KeyArgument = Annotated[
    str, typer.Argument(help="Setting name (see `agentos config get`).", show_default=False)
]


def _run(backend: Backend, name: str, payload: dict[str, Any]) -> Any:
    return run_named(backend, name, payload, key=None, yes=False).result


def shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def parse_value(raw: str) -> Any:
    """JSON when it parses (20, true, {"a": 1}), else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


@app.command(
    "get",
    epilog=examples(
        "agentos config get",
        "agentos config get ssot_cache_ttl_s",
        "agentos config get --json | jq '.effective[] | select(.settable)'",
    ),
)
@handle_errors
def get(
    key: Annotated[str | None, typer.Argument(help="One setting; all when omitted.")] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """The configuration in use: each setting's value (secrets masked), where it comes from
    (default, environment, runtime) and whether `config set` may change it live."""
    from agentos.schemas.actions_reads import ConfigGetResult

    with opened(server, token) as backend:
        result = ConfigGetResult.model_validate(_run(backend, "config.get", {"key": key}))
    emit(result, as_json=as_json, render=_render_get)


def _render_get(result: ConfigGetResult) -> None:
    rows = [
        (item.name, shown(item.value), item.source, "yes" if item.settable else "")
        for item in result.effective
    ]
    rendered = table(
        f"Configuration ({result.deployment})", ("name", "value", "source", "settable"), rows
    )
    rendered.columns[0].no_wrap = True
    console.print(rendered)


@app.command(
    "set",
    epilog=examples(
        "agentos config set ssot_cache_ttl_s 20",
        "agentos config set log_level DEBUG --server https://agentos.example.com",
    ),
)
@handle_errors
def set_(
    key: KeyArgument,
    value: Annotated[
        str, typer.Argument(help="New value: JSON when it parses, else text.", show_default=False)
    ],
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Set KEY live in every process (validated as the setting's type and bounds; the old
    value is kept in `config history`)."""
    from agentos.schemas.actions_config import ConfigSetResult

    payload = {"key": key, "value": parse_value(value)}
    with opened(server, token) as backend:
        result = ConfigSetResult.model_validate(_run(backend, "config.set", payload))
    emit(result, as_json=as_json, render=_render_change)


@app.command(
    "reset",
    epilog=examples(
        "agentos config reset ssot_cache_ttl_s",
    ),
)
@handle_errors
def reset(
    key: KeyArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Remove KEY's runtime value: back to the environment's, else the default."""
    from agentos.schemas.actions_config import ConfigSetResult

    with opened(server, token) as backend:
        result = ConfigSetResult.model_validate(_run(backend, "config.reset", {"key": key}))
    emit(result, as_json=as_json, render=_render_change)


def _render_change(result: ConfigSetResult) -> None:
    console.print(
        f"{result.key}: {shown(result.old)} -> [bold]{shown(result.new)}[/bold] "
        f"({result.source}), applied live",
        highlight=False,
    )


@app.command(
    "history",
    epilog=examples(
        "agentos config history",
        "agentos config history ssot_cache_ttl_s --limit 10 --json",
    ),
)
@handle_errors
def history(
    key: Annotated[str | None, typer.Argument(help="One setting; all when omitted.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Entries.")] = 50,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Earlier values of the runtime settings, newest first: who, when, old, new, why."""
    from agentos.schemas.actions_config import ConfigHistoryResult

    payload = {"key": key, "limit": limit}
    with opened(server, token) as backend:
        result = ConfigHistoryResult.model_validate(_run(backend, "config.history", payload))
    emit(result, as_json=as_json, render=_render_history)


def _render_history(result: ConfigHistoryResult) -> None:
    if not result.entries:
        console.print("no runtime changes yet")
        return
    rows = [
        (
            f"{entry.changed_at:%Y-%m-%d %H:%M:%S}",
            entry.key,
            "" if entry.old_value is None else shown(entry.old_value),
            "(reset)" if entry.new_value is None else shown(entry.new_value),
            entry.changed_by or "",
            entry.reason or "",
        )
        for entry in result.entries
    ]
    console.print(table("Configuration history", ("when", "key", "old", "new", "by", "why"), rows))


@app.command(
    "export",
    epilog=examples(
        "agentos config export",
        "agentos config export settings.json",
    ),
)
@handle_errors
def export(
    file: Annotated[
        Path | None, typer.Argument(help="Write here; stdout when omitted.", dir_okay=False)
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Every settable setting's value in force, as a document `config import` takes."""
    from agentos.schemas.actions_config import ConfigExport

    with opened(server, token) as backend:
        document = ConfigExport.model_validate(_run(backend, "config.export", {}))
    if file is None:
        print_json(document)
        return
    text = json.dumps(document.model_dump(mode="json"), indent=2) + "\n"
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror or exc}")
    summary = {"file": str(file), "settings": len(document.values), "runtime": document.runtime}
    if as_json:
        print_json(summary)
    else:
        console.print(f"{len(document.values)} setting(s) written to {file}", highlight=False)


@app.command(
    "import",
    epilog=examples(
        "agentos config import settings.json --dry-run",
        "agentos config import settings.json --yes",
    ),
)
@handle_errors
def import_(
    file: Annotated[Path, typer.Argument(help="A `config export` document, or {setting: value}.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; change nothing.")
    ] = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Apply a configuration document, all or nothing: the diff first, then (after asking,
    unless --yes) the change. An invalid document is refused whole, naming every error."""
    document = _read_document(file)
    with opened(server, token) as backend:
        preview = _import(backend, document, dry_run=True, as_json=as_json)
        if dry_run or not preview.changes:
            emit(preview, as_json=as_json, render=_render_import)
            return
        if not as_json:
            _render_import(preview)
        _confirm(len(preview.changes), yes)
        result = _import(backend, document, dry_run=False, as_json=as_json)
    emit(result, as_json=as_json, render=_render_import)


def _read_document(file: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"{file} is not JSON: {exc}")
    if not isinstance(loaded, dict):
        fail(f"{file} must hold a JSON object")
    return loaded


def _import(
    backend: Backend, document: dict[str, Any], *, dry_run: bool, as_json: bool
) -> ConfigImportResult:
    from agentos.schemas.actions_config import ConfigImportResult

    payload = {"document": document, "dry_run": dry_run}
    try:
        return ConfigImportResult.model_validate(_run(backend, "config.import", payload))
    except InvalidError as error:
        errors = error.details.get("errors")
        if error.code != "INVALID_CONFIG_DOCUMENT" or not isinstance(errors, list):
            raise
        if as_json:
            print_json({"ok": False, "code": error.code, "errors": errors})
        for item in errors:
            err_console.print(f"  {item}", highlight=False, markup=False)
        fail(f"the document has {len(errors)} error(s); nothing was changed ({error.code})")


def _confirm(count: int, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail("pass --yes to apply these changes (or --dry-run to only see them)")
    if not typer.confirm(f"Apply {count} change(s)?", default=False):
        fail("aborted; nothing was changed", kind="conflict")


def _render_import(result: ConfigImportResult) -> None:
    for change in result.changes:
        console.print(
            f"  {change.key}: {shown(change.old)} -> [bold]{shown(change.new)}[/bold]",
            highlight=False,
        )
    if not result.changes:
        console.print(
            f"nothing to change: {result.unchanged} setting(s) already as in the document",
            highlight=False,
        )
    elif result.dry_run:
        console.print(
            f"would change {len(result.changes)} setting(s), {result.unchanged} unchanged "
            "(dry run: nothing applied)",
            highlight=False,
        )
    else:
        console.print(
            f"[green]applied[/green] {len(result.changes)} change(s) live, "
            f"{result.unchanged} unchanged",
            highlight=False,
        )
