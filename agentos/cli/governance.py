"""`agentos governance check|diff|errors`: the seed's endpoint governance rules on the
API as the code builds it (in process, no server), API change tracking against the
committed snapshot, and the error catalog (docs/errors.md).

Like `processes.py`, a composition root: it builds the app (through `agentos.governance`),
so it is the one CLI module besides that one allowed past the client layer (pyproject.toml).
Like it, it imports that machinery when a command runs: `agentos governance --help` stays
light.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from agentos import __version__
from agentos.cli._options import JsonOption, examples
from agentos.cli._output import handle_errors, print_json

SNAPSHOT_PATH = Path("docs/api-snapshot.json")
ACCEPTED_PATH = Path("docs/api-changes-accepted.json")
ERRORS_PATH = Path("docs/errors.md")

app = typer.Typer(
    help="API governance: the seed's endpoint rules, change tracking, the error catalog.",
    no_args_is_help=True,
    add_completion=False,
)


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command(
    "check",
    epilog=examples(
        "agentos governance check",
        "agentos governance check --format markdown --output governance.md",
        "agentos governance check --format json | jq .score",
        "agentos governance check --rule naming.no-verbs --rule errors.documented",
    ),
)
@handle_errors
def check(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text, json or markdown")] = (
        Format.text
    ),
    output: Annotated[Path | None, typer.Option(help="Write the report here")] = None,
    rule: Annotated[list[str] | None, typer.Option(help="Only this rule (repeatable)")] = None,
) -> None:
    """Check the API (built in process) against the seed's governance rules: every rule
    with its id, severity and fix, and a score out of 10. Exit 0 when no rule has an
    error, 1 otherwise."""
    from agentos.governance import report
    from agentos.governance.document import project_subject
    from agentos.server.versioning import API_VERSION

    title = f"API Endpoint Governance — AgentOS {__version__} (API v{API_VERSION})"
    with project_subject() as subject:
        result = report.run(subject, title=title, only=rule or None)
    text = report.RENDERERS[fmt.value](result)
    if output is not None:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        typer.echo(f"{report.headline(result)[0]}; report written to {output}")
    else:
        typer.echo(text)
    raise typer.Exit(0 if result.ok else 1)


@app.command(
    "diff",
    epilog=examples(
        "agentos governance diff",
        "agentos governance diff --update",
        "agentos governance diff --json",
    ),
)
@handle_errors
def diff(
    snapshot_path: Annotated[
        Path, typer.Option("--snapshot", help="The committed snapshot")
    ] = SNAPSHOT_PATH,
    accepted: Annotated[
        Path, typer.Option(help="Breaking changes accepted, each with a reason")
    ] = ACCEPTED_PATH,
    update: Annotated[
        bool, typer.Option("--update", help="Write the snapshot (when nothing unaccepted breaks)")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare the API with its committed snapshot and classify each change (added,
    removed endpoint, removed or newly required parameter, narrowed type, removed response
    code...). Exit 1 when a breaking change is not accepted in docs/api-changes-accepted.json."""
    from agentos.governance import diff as api_diff
    from agentos.governance import snapshot
    from agentos.governance.document import project_subject

    with project_subject() as subject:
        current = snapshot.build(subject)
    previous = snapshot.load(snapshot_path) if snapshot_path.exists() else None
    changes = api_diff.compare(previous, current) if previous is not None else []
    result = api_diff.DiffResult(changes, api_diff.load_accepted(accepted))
    if as_json:
        print_json({**result.as_dict(), "snapshot": str(snapshot_path), "updated": update})
    elif previous is None:
        typer.echo(f"No snapshot at {snapshot_path} yet.")
    else:
        typer.echo(api_diff.render_text(result))
    if update and result.ok:
        snapshot_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot_path.write_text(snapshot.dumps(current), encoding="utf-8")
        if not as_json:
            typer.echo(f"Snapshot written to {snapshot_path}.")
    if previous is None and not update:
        raise typer.Exit(1)
    raise typer.Exit(0 if result.ok else 1)


@app.command(
    "errors",
    epilog=examples("agentos governance errors", "agentos governance errors --check"),
)
@handle_errors
def errors(
    output: Annotated[Path, typer.Option(help="Where the catalog goes")] = ERRORS_PATH,
    check_only: Annotated[
        bool, typer.Option("--check", help="Only check the file is up to date (exit 1 if not)")
    ] = False,
) -> None:
    """Write the error catalog (every code, its HTTP status, CLI exit code and meaning)
    to docs/errors.md, from agentos/errors/catalog.py."""
    from agentos.governance import errors_doc

    text = errors_doc.render()
    if check_only:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            typer.echo(f"{output} is out of date: run agentos governance errors", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date.")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"Wrote {output}.")
