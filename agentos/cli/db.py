"""`agentos db migrate|check|reset-and-seed`: schema and data maintenance (local only)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from agentos.cli._backend import opened
from agentos.cli._options import (
    JsonOption,
    LocalServerOption,
    LocalTokenOption,
    YesOption,
    examples,
)
from agentos.cli._output import console, emit, fail, handle_errors, print_json, table

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.db import MigrationResult, SchemaReport
    from agentos.schemas.seed import SeedOptions, SeedResult

app = typer.Typer(
    help="Database schema and data maintenance: migrate, check, reset-and-seed (local only).",
    no_args_is_help=True,
    add_completion=False,
)
PHASE_LABELS = {
    "reset": "reset schema",
    "demo": "demo video",
    "jobs": "jobs, steps, clips",
    "steps": "processing steps",
    "indexes": "rebuild indexes",
    "events": "system events",
    "verify": "verify",
}


@app.command(
    "migrate",
    epilog=examples(
        "agentos db migrate",
        "AGENTOS_DATABASE_URL=postgresql+psycopg://postgres@db:5432/agentos agentos db migrate",
        "agentos db migrate --json",
    ),
)
@handle_errors
def migrate(
    as_json: JsonOption = False,
    server: LocalServerOption = None,
    token: LocalTokenOption = None,
) -> None:
    """Apply every pending migration (a database already at head is left alone) and give a
    fresh database its six pipeline agents."""
    with opened(server, token) as backend:
        result = backend.migrate()
    emit(result, as_json=as_json, render=_render_migration)


def _render_migration(result: MigrationResult) -> None:
    if result.changed:
        console.print(
            f"{result.dialect}: migrated from {result.before or 'empty'} to {result.after}",
            highlight=False,
        )
    else:
        console.print(f"{result.dialect}: already at head ({result.head})", highlight=False)
    if result.agents_created:
        console.print(
            f"created {result.agents_created} pipeline agent(s) with their defaults; "
            "`agentos serve` (embedded) or `agentos worker` runs them",
            highlight=False,
        )


@app.command(
    "check",
    epilog=examples("agentos db check", "agentos db check --json | jq '.differences | length'"),
)
@handle_errors
def check(
    as_json: JsonOption = False,
    server: LocalServerOption = None,
    token: LocalTokenOption = None,
) -> None:
    """Compare the database with the models; exit 1 when anything differs."""
    with opened(server, token) as backend:
        report = backend.check_schema()
    emit(report, as_json=as_json, render=_render_report)
    if report.differences:
        raise typer.Exit(1)


def _render_report(report: SchemaReport) -> None:
    where = f"{report.dialect} at {report.revision or 'no revision'} (head {report.head})"
    if not report.differences:
        console.print(f"schema matches the models: {report.tables_checked} tables, {where}")
        return
    for difference in report.differences:
        console.print(difference.describe(), highlight=False, markup=False)
    console.print(f"{len(report.differences)} difference(s); {where}")


@app.command(
    "reset-and-seed",
    epilog=examples(
        "agentos db reset-and-seed",
        "agentos db reset-and-seed --jobs 200 --events 300 --yes",
        "agentos db reset-and-seed --clean --seed 42 --yes --json",
    ),
)
@handle_errors
def reset_and_seed(
    jobs: Annotated[int, typer.Option(min=0, help="Jobs to generate.")] = 25,
    events: Annotated[int, typer.Option(min=0, help="System events to generate.")] = 100,
    clean: Annotated[
        bool, typer.Option("--clean", help="Also remove files under uploads/, clips/, backups/.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Random seed (same seed, same data).")
    ] = None,
    yes: YesOption = False,
    as_json: JsonOption = False,
    server: LocalServerOption = None,
    token: LocalTokenOption = None,
) -> None:
    """Drop everything, migrate, generate demo data, clear the SSOT cache and verify. For
    a demo or a test bed: it deletes every job, user and audit record."""
    from agentos.schemas.seed import SeedOptions

    options = SeedOptions(jobs=jobs, events=events, seed=seed, clean=clean)
    with opened(server, token) as backend:
        if not yes and not backend.database_is_empty():
            _confirm_reset()
        result = _run_with_progress(backend, options, quiet=as_json)
    if as_json:
        print_json(result.model_dump(mode="json") | {"verified": result.verified})
    else:
        _render_seed(result)
    if result.problems:
        fail(f"verification failed: {'; '.join(result.problems[:3])}", kind="internal")


def _confirm_reset() -> None:
    if not sys.stdin.isatty():
        fail("the database is not empty: pass --yes to reset it", kind="conflict")
    if not typer.confirm("The database is not empty. Drop everything and reseed?"):
        fail("cancelled: nothing was changed", kind="conflict")


def _run_with_progress(backend: Backend, options: SeedOptions, *, quiet: bool) -> SeedResult:
    progress = Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        TextColumn("{task.completed:>9,.0f}/{task.total:<9,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(PHASE_LABELS.get(phase, phase), total=max(total, 1))
        progress.update(tasks[phase], completed=done, total=max(total, 1))

    with progress:
        return backend.reset_and_seed(options=options, progress=update)


def _render_seed(result: SeedResult) -> None:
    rows = [(item.table, f"{item.rows:,}") for item in result.tables]
    console.print(table("Seeded", ["table", "rows"], rows))
    statuses = ", ".join(f"{name} {count:,}" for name, count in result.jobs_by_status.items())
    console.print(f"jobs by status: {statuses}", highlight=False)
    console.print(
        f"{result.total_rows:,} rows in {result.seconds:.2f} s "
        f"(load {result.load_seconds:.2f} s, {result.rows_per_s:,.0f} rows/s); "
        f"{result.dialect}, seed {result.random_seed}",
        highlight=False,
    )
    if result.removed_files:
        console.print(f"removed {result.removed_files} file(s) under the home")
    console.print(f"cache key {result.cache_key!r} cleared", highlight=False)
    if result.queue_paused:
        console.print(f"[yellow]queue paused:[/yellow] {result.queue_message}", highlight=False)
    state = "[green]verified[/green]" if result.verified else "[red]verification failed[/red]"
    console.print(f"schema and row counts: {state}")
    console.print(
        f"admin user [bold]{result.admin_username}[/bold], one-time password: "
        f"[bold]{result.admin_password}[/bold] (shown once; change it at first login)",
        highlight=False,
    )
