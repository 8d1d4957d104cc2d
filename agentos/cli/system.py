"""`agentos backup create|list|verify|restore|delete` and `agentos maintenance on|off|status`:
short forms of the `system.*` admin actions (audited, rate-limited, like `agentos action`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption, YesOption, examples
from agentos.cli._output import console, emit, err_console, fail, handle_errors, print_json, table
from agentos.cli.action import run_named

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.actions import ActionResponse
    from agentos.schemas.health import MaintenanceState
    from agentos.schemas.system import BackupList, BackupRead

backup_app = typer.Typer(
    help="Verified database backups (the system.backup* actions).",
    no_args_is_help=True,
    add_completion=False,
)
maintenance_app = typer.Typer(
    help="Maintenance mode: user writes answer 503 with a message.",
    no_args_is_help=True,
    add_completion=False,
)

BackupIdArgument = Annotated[str, typer.Argument(help="Backup id (see `agentos backup list`).")]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
]


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TiB"


def age(moment: datetime | None) -> str:
    if moment is None:
        return ""
    seconds = (datetime.now(UTC) - moment).total_seconds()
    for unit, length in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f}{unit} ago"
    return f"{max(seconds, 0):.0f}s ago"


@contextmanager
def _working(message: str, *, quiet: bool) -> Iterator[None]:
    """A spinner on stderr while a long action runs (not with --json)."""
    if quiet:
        yield
        return
    with err_console.status(message):
        yield


def _run(
    backend: Backend, name: str, payload: dict[str, Any], *, yes: bool = False
) -> ActionResponse:
    return run_named(backend, name, payload, key=None, yes=yes)


# --- backup ----------------------------------------------------------------------------------


@backup_app.command(
    "create",
    epilog=examples(
        "agentos backup create",
        "agentos backup create --label before-upgrade --json",
    ),
)
@handle_errors
def backup_create(
    label: Annotated[str | None, typer.Option(help="A name to find it by later.")] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Take a consistent backup of the database into the home's backups/ folder."""
    from agentos.schemas.system import BackupRead

    with opened(server, token) as backend, _working("taking a backup...", quiet=as_json):
        response = _run(backend, "system.backup", {"label": label} if label else {})
    backup = BackupRead.model_validate(response.result)
    if as_json:
        print_json(backup)
        return
    console.print(
        f"[green]backup taken[/green] {backup.id} ({human_bytes(backup.size_bytes)}, "
        f"schema {backup.schema_revision})\n  {backup.path}\n  sha256 {backup.sha256}",
        highlight=False,
    )


@backup_app.command(
    "list",
    epilog=examples(
        "agentos backup list",
        "agentos backup list --json | jq -r '.backups[0].id'",
    ),
)
@handle_errors
def backup_list(
    as_json: JsonOption = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Every backup, newest first, with size, age, checksum and schema revision."""
    from agentos.schemas.system import BackupList

    with opened(server, token) as backend:
        listing = BackupList.model_validate(_run(backend, "system.backup.list", {}).result)
    emit(listing, as_json=as_json, render=_render_list)


def _render_list(listing: BackupList) -> None:
    if not listing.backups:
        console.print(
            f"no backups yet in {listing.directory}; `agentos backup create` takes one",
            highlight=False,
        )
        return
    rows = [
        (
            str(item.id),
            item.label or "",
            human_bytes(item.size_bytes),
            age(item.finished_at or item.started_at),
            (item.schema_revision or "?").split("_", 1)[0],
            _verified(item),
        )
        for item in listing.backups
    ]
    columns = ("id", "label", "size", "taken", "schema", "verified")
    rendered = table(f"Backups in {listing.directory}", columns, rows)
    rendered.columns[0].no_wrap = True
    console.print(rendered)
    console.print(f"{len(listing.backups)} backup(s), {human_bytes(listing.total_bytes)}")


def _verified(item: BackupRead) -> str | Text:
    if not item.file_present:
        return Text("file missing", style="red")
    return age(item.verified_at) if item.verified_at else "never"


@backup_app.command(
    "verify",
    epilog=examples(
        "agentos backup verify ID",
        "agentos backup verify ID --json",
    ),
)
@handle_errors
def backup_verify(
    backup_id: BackupIdArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Recompute the checksum and check the archive would restore. Exit 1 if it would not."""
    from agentos.schemas.system import BackupVerifyResult

    with opened(server, token) as backend, _working("verifying...", quiet=as_json):
        response = _run(backend, "system.backup.verify", {"backup_id": backup_id})
    result = BackupVerifyResult.model_validate(response.result)
    if as_json:
        print_json(result)
    elif result.ok:
        console.print(
            f"[green]ok[/green] {result.backup_id}: checksum matches, {result.restore_check} "
            f"found {result.entries} entries",
            highlight=False,
        )
    if not result.ok:
        fail(f"backup {result.backup_id} failed verification: {'; '.join(result.problems)}")


@backup_app.command(
    "restore",
    epilog=examples(
        "agentos backup restore ID --dry-run",
        "agentos backup restore ID --yes",
    ),
)
@handle_errors
def backup_restore(
    backup_id: BackupIdArgument,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Replace the database with a backup (maintenance mode meanwhile). Audit records
    written since the backup are exported to a file first."""
    from agentos.schemas.system import RestoreResult

    payload: dict[str, Any] = {"backup_id": backup_id, "dry_run": dry_run}
    with opened(server, token) as backend, _working("restoring...", quiet=as_json):
        response = _run(backend, "system.restore", payload, yes=yes)
    result = RestoreResult.model_validate(response.result)
    if as_json:
        print_json(result)
        return
    if result.dry_run:
        console.print(
            f"would restore {result.backup_id} (schema {result.restored_revision}, then "
            f"{result.migrated_to}); {result.audit_records_exported} audit record(s) written "
            "since would be exported first. Nothing was changed.",
            highlight=False,
        )
        return
    console.print(
        f"[green]restored[/green] {result.backup_id} in {result.seconds:.1f} s (schema "
        f"{result.restored_revision} -> {result.migrated_to})\n"
        f"  {result.audit_records_exported} later audit record(s) kept in "
        f"{result.audit_export_path}",
        highlight=False,
    )


@backup_app.command(
    "delete",
    epilog=examples(
        "agentos backup delete ID --dry-run",
        "agentos backup delete ID --yes",
    ),
)
@handle_errors
def backup_delete(
    backup_id: BackupIdArgument,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Delete a backup's file, sidecar and catalog row."""
    payload: dict[str, Any] = {"backup_id": backup_id, "dry_run": dry_run}
    with opened(server, token) as backend:
        response = _run(backend, "system.backup.delete", payload, yes=yes)
    if as_json:
        print_json(response.result)
        return
    verb = "would free" if response.dry_run else "deleted, freed"
    freed = human_bytes(int(response.result["bytes_freed"]))
    console.print(f"{backup_id}: {verb} {freed}", highlight=False)


# --- maintenance -----------------------------------------------------------------------------


@maintenance_app.command(
    "on",
    epilog=examples(
        'agentos maintenance on "upgrading the database"',
        'agentos maintenance on "back at 03:30 UTC" --retry-after 900',
    ),
)
@handle_errors
def maintenance_on(
    message: Annotated[str, typer.Argument(help="What users are told (with the 503).")],
    retry_after: Annotated[
        int, typer.Option("--retry-after", help="Retry-After seconds sent with the 503s.", min=1)
    ] = 300,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """User writes answer 503 with MESSAGE; reads, /health and admin keep working."""
    from agentos.schemas.health import MaintenanceState

    with opened(server, token) as backend:
        payload = {"message": message, "retry_after_s": retry_after}
        state = MaintenanceState.model_validate(
            _run(backend, "system.maintenance.enable", payload).result
        )
    emit(state, as_json=as_json, render=_render_state)


@maintenance_app.command(
    "off",
    epilog=examples(
        "agentos maintenance off",
    ),
)
@handle_errors
def maintenance_off(
    as_json: JsonOption = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Leave maintenance mode."""
    from agentos.schemas.health import MaintenanceState

    with opened(server, token) as backend:
        state = MaintenanceState.model_validate(
            _run(backend, "system.maintenance.disable", {}).result
        )
    emit(state, as_json=as_json, render=_render_state)


@maintenance_app.command(
    "status",
    epilog=examples(
        "agentos maintenance status",
        "agentos maintenance status --json",
    ),
)
@handle_errors
def maintenance_status(
    as_json: JsonOption = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Whether maintenance mode is on (from the admin read model)."""
    with opened(server, token) as backend:
        state = backend.snapshot().document.dashboard.maintenance
    emit(state, as_json=as_json, render=_render_state)


def _render_state(state: MaintenanceState) -> None:
    if not state.enabled:
        console.print("maintenance mode is [green]off[/green]")
        return
    since = f" since {state.since:%Y-%m-%d %H:%M:%S} UTC" if state.since else ""
    console.print(
        f"maintenance mode is [bold red]on[/bold red]{since} ({state.by or 'unknown'}): "
        f"{json.dumps(state.message)}; user writes answer 503, Retry-After "
        f"{state.retry_after_s} s",
        highlight=False,
    )
