"""`agentos audit search|export|verify`: the hash-chained audit trail, through the
`audit.search`, `audit.export` and `audit.verify` actions, locally or with --server; and
`audit verify FILE`, which checks an export offline (no database, no server)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption
from agentos.cli._output import console, emit, err_console, fail, handle_errors, print_json
from agentos.cli._query import (
    AllOption,
    JsonlOption,
    SinceOption,
    UntilOption,
    parse_moment,
    patiently,
    print_jsonl,
    time_filters,
    without_none,
)
from agentos.cli.action import run_named
from agentos.cli.system import human_bytes

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.actions_reads import AuditSearchResult
    from agentos.schemas.audit import AuditRecordRead, AuditVerifyResult

app = typer.Typer(
    help="The audit trail: search it, export it, verify its hash chain (online or a file).",
    no_args_is_help=True,
    add_completion=False,
)
# `agentos.schemas.actions_reads.AUDIT_PAGE_MAX` (not imported: this module loads for
# help and completion; a test keeps the two equal).
AUDIT_PAGE_MAX = 500
OUTCOME_STYLE = {"success": "green", "replayed": "cyan", "failed": "red", "denied": "red"}

SEARCH_EXAMPLES = """Examples:
  agentos audit search --since 1d --outcome denied
  agentos audit search --actor alice --action job.cancel --json
  agentos audit search --trace-id 4bf92f3577b34da6
  agentos audit search --all --jsonl > audit.jsonl"""
EXPORT_EXAMPLES = """Examples:
  agentos audit export
  agentos audit export --since 2024-05-01 --json"""
VERIFY_EXAMPLES = """Examples:
  agentos audit verify
  agentos audit verify .agentos/exports/audit-20240501-120000-1a2b3c.jsonl
  agentos audit verify export.jsonl --key-file ./audit_key
  AGENTOS_AUDIT_KEY=... agentos audit verify export.jsonl --json"""


def _search(backend: Backend, payload: dict[str, Any]) -> AuditSearchResult:

    return backend.audit_search(**payload)


def _pages(
    backend: Backend, payload: dict[str, Any], *, every: bool
) -> Iterator[AuditSearchResult]:
    page = _search(backend, payload)
    yield page
    while every and page.next_cursor:
        following = {**payload, "before_seq": page.next_cursor}
        page = patiently(partial(_search, backend, following))
        yield page


@app.command("search", epilog=SEARCH_EXAMPLES)
@handle_errors
def search(
    actor: Annotated[str | None, typer.Option("--actor", help="Actor name, exactly.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Action name, exactly (job.cancel).")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="success, failed, denied, rejected, rate_limited, circuit_open, conflict or "
            "replayed.",
        ),
    ] = None,
    trace_id: Annotated[
        str | None, typer.Option("--trace-id", help="One request's records (X-Trace-Id).")
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Text in action, actor, outcome or trace id.")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, max=AUDIT_PAGE_MAX, help="Records per page (default 50)."),
    ] = None,
    cursor: Annotated[
        int | None,
        typer.Option("--cursor", min=1, help="Continue after a page: its next cursor (a seq)."),
    ] = None,
    every: AllOption = False,
    as_json: JsonOption = False,
    jsonl: JsonlOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Search the whole audit trail (already PII-scrubbed), newest first, a page at a time.

    Filters combine. --all reads every page; --json prints the page as one object
    (records, next_cursor), --jsonl one record per line."""
    from agentos.schemas.actions_reads import AuditSearchResult

    if as_json and jsonl:
        fail("choose one of --json and --jsonl")
    payload = without_none(
        {
            "actor": actor,
            "action": action,
            "outcome": outcome.lower() if outcome else None,
            "trace_id": trace_id,
            "query": text,
            "before_seq": cursor,
            "limit": limit or (AUDIT_PAGE_MAX if every else 50),
            **time_filters(since, until),
        }
    )
    with opened(server, token) as backend:
        pages = _pages(backend, payload, every=every)
        if jsonl:
            last = None
            for last in pages:
                print_jsonl(last.records)
            if last is not None and last.next_cursor:
                err_console.print(f"more: --cursor {last.next_cursor}", highlight=False)
            return
        read = list(pages)
    found = AuditSearchResult(
        records=[record for page in read for record in page.records],
        next_cursor=read[-1].next_cursor,
    )
    emit(found, as_json=as_json, render=_render_page)


def _render_page(found: AuditSearchResult) -> None:
    if not found.records:
        console.print("no audit records match")
        return
    console.print(_records_table(found.records))
    more = f"; more with --cursor {found.next_cursor}" if found.next_cursor else ""
    console.print(
        f"{len(found.records)} record(s), newest first{more}", highlight=False, soft_wrap=True
    )


def _records_table(records: list[AuditRecordRead]) -> Table:
    # Text cells, never markup: payload-derived strings may hold "[...]". Names and ids
    # fold rather than end in "...": they are what the next command is given.
    rendered = Table(header_style="bold")
    for column in ("seq", "time (UTC)", "actor", "action", "outcome", "trace", "ms"):
        rendered.add_column(column, overflow="fold")
    rendered.columns[0].justify = rendered.columns[-1].justify = "right"
    rendered.columns[1].no_wrap = rendered.columns[3].no_wrap = True
    rendered.columns[3].min_width = max((len(record.action) for record in records), default=6)
    for record in records:
        actor = record.actor_name + (f" ({record.role})" if record.role else "")
        outcome = record.outcome + (f" {record.error_code}" if record.error_code else "")
        if (record.payload or {}).get("dry_run") is True:
            outcome += " (dry run)"  # it changed nothing: never read as done
        rendered.add_row(
            Text(str(record.seq)),
            Text(record.created_at.strftime("%Y-%m-%d %H:%M:%S")),
            Text(actor),
            Text(record.action),
            Text(outcome, style=OUTCOME_STYLE.get(record.outcome, "yellow")),
            Text(record.trace_id or ""),
            Text("" if record.duration_ms is None else f"{record.duration_ms:.0f}"),
        )
    return rendered


@app.command("export", epilog=EXPORT_EXAMPLES)
@handle_errors
def export(
    since: SinceOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Export audit records (all, or those since --since) to a JSONL file in the home's
    exports/ folder (on the server's host with --server), with every record's hash and the
    chain head, for archiving. `agentos audit verify FILE` checks it offline."""
    from agentos.schemas.actions_logs import AuditExportResult

    start = parse_moment(since, option="--since")
    payload = without_none({"since": start.isoformat() if start else None})
    working: AbstractContextManager[Any] = (
        nullcontext() if as_json else err_console.status("exporting...")
    )
    with opened(server, token) as backend:
        with working:
            response = run_named(backend, "audit.export", payload, key=None, yes=False)
        where = " on the server's host" if backend.kind == "http" else ""
    result = AuditExportResult.model_validate(response.result)
    if as_json:
        print_json(result)
        return
    span = f"seq {result.from_seq}..{result.to_seq}" if result.count else "none"
    console.print(
        f"{result.count} audit record(s) ({span}) written to {result.path}{where} "
        f"({human_bytes(result.bytes)})\nchain head: seq {result.head_seq} {result.head_hash}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command("verify", epilog=VERIFY_EXAMPLES)
@handle_errors
def verify(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="An `audit export` file to check offline; omit to check the database's chain.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="With FILE: the audit HMAC key (default: AGENTOS_AUDIT_KEY, else this home's "
            "audit_key file).",
            show_default=False,
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="With FILE: read the key from this file.", dir_okay=False),
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Recompute the audit hash chain and name the first record that does not verify.

    Without FILE: the chain in the database, end to end (the audit.verify action, locally
    or with --server). With FILE: an export, offline - every record's keyed hash, every
    link and the chain head in its header - needing only the file and the audit key.
    Exits non-zero when anything fails to verify."""
    from agentos.schemas.audit import AuditVerifyResult

    if file is None:
        if key is not None or key_file is not None:
            fail("--key and --key-file are for checking a FILE offline")
        with opened(server, token) as backend:
            response = backend.run_action("audit.verify", {})
        result = AuditVerifyResult.model_validate(response.result)
        _report(result, what="audit chain", as_json=as_json)
        return
    from agentos.client import audit_file

    secret = audit_file.audit_key(key=key, key_file=key_file)
    _report(audit_file.verify_export(file, key=secret), what=str(file), as_json=as_json)


def _report(result: AuditVerifyResult, *, what: str, as_json: bool) -> None:
    if as_json:
        print_json(result)
    elif result.ok:
        head = f"seq {result.head_seq} {result.head_hash}" if result.checked else "none (empty)"
        console.print(
            f"[green]ok:[/green] {result.checked} records, chain head {head}",
            highlight=False,
            soft_wrap=True,
        )
    if result.ok:
        return
    record = f"record seq {result.first_broken_seq}" if result.first_broken_seq else "the file"
    hint = ""
    if result.checked == 1 and "hash" in (result.problem or ""):
        # The very first keyed record failing is what a wrong key looks like too.
        hint = " - or the audit key is not this deployment's"
    problem = result.problem or "unknown problem"
    fail(f"{what}: {record} does not verify: {problem}{hint}", kind="invalid")
