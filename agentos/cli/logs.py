"""`agentos logs search|tail|export`: the structured logs of every process, through the
`logs.search` and `logs.export` actions (authorized, rate-limited and audited like every
action), locally or with --server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from agentos.cli._backend import opened
from agentos.cli._logs_follow import Follower, search_logs
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
from agentos.errors import UnavailableError

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.actions_logs import LogRecordRead, LogSearchResult

app = typer.Typer(
    help="Structured logs of every process: search, follow live, export.",
    no_args_is_help=True,
    add_completion=False,
)

# `agentos.schemas.actions_logs.PAGE_MAX` (not imported: this module loads for help and
# completion; a test keeps the two equal).
PAGE_MAX = 500
STYLE_BY_LEVEL = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}
# Between polls `tail` sleeps (not the backend's change waiter: log records publish no bus
# event, and waking on every other change would spend the action's rate limit). A module
# attribute so tests can stand in for the clock.
pause = time.sleep

TextOption = Annotated[str | None, typer.Option("--text", help="Text in the message (any case).")]
LevelOption = Annotated[
    str | None,
    typer.Option("--level", help="This level and above: DEBUG, INFO, WARNING, ERROR, CRITICAL."),
]
SourceOption = Annotated[
    str | None,
    typer.Option("--source", help="Process it came from, a prefix: server, worker, beat, cli."),
]
TraceOption = Annotated[
    str | None, typer.Option("--trace-id", help="One request's or action's records.")
]
JobOption = Annotated[
    str | None,
    typer.Option(
        "--job", help="One job's records (its id, or a unique prefix of it).", metavar="ID"
    ),
]

SEARCH_EXAMPLES = """Examples:
  agentos logs search --level error --since 1h
  agentos logs search --trace-id 4bf92f3577b34da6 --json
  agentos logs search --job 1f2e... --all --jsonl > job.jsonl
  agentos logs search --text timeout --limit 20 --cursor '<next cursor>'"""
TAIL_EXAMPLES = """Examples:
  agentos logs tail
  agentos logs tail --level warning --source worker
  agentos logs tail --json --server https://agentos.example.com | jq .message"""
EXPORT_EXAMPLES = """Examples:
  agentos logs export --since 1d
  agentos logs export --format csv --level error --since 2024-05-01 --until 2024-05-02"""


def _filters(
    text: str | None, level: str | None, source: str | None, trace_id: str | None, job: str | None
) -> dict[str, Any]:
    # Values are checked by the action's payload model (one rule, one line on error).
    return without_none(
        {
            "query": text,
            "level": level.upper() if level else None,
            "source": source,
            "trace_id": trace_id,
            "job_id": job,
        }
    )


def _pages(backend: Backend, payload: dict[str, Any], *, every: bool) -> Iterator[LogSearchResult]:
    """The first page (an error ends the command), then with `every` each further one,
    waiting out the rate limit between them."""
    page = search_logs(backend, payload)
    yield page
    while every and page.next_cursor:
        following = {**payload, "before": page.next_cursor}
        page = patiently(partial(search_logs, backend, following), pause=pause)
        yield page


@app.command("search", epilog=SEARCH_EXAMPLES)
@handle_errors
def search(
    text: TextOption = None,
    level: LevelOption = None,
    source: SourceOption = None,
    trace_id: TraceOption = None,
    job: JobOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, max=PAGE_MAX, help="Records per page (default 50)."),
    ] = None,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Continue after a page: its next cursor.")
    ] = None,
    every: AllOption = False,
    as_json: JsonOption = False,
    jsonl: JsonlOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Search the structured log records of every process, newest first, a page at a time.

    Filters combine (all must match). The table shows one page and the cursor of the next;
    --all reads every page. --json prints the page as one object (records, next_cursor),
    --jsonl one record per line."""
    from agentos.schemas.actions_logs import LogSearchResult

    if as_json and jsonl:
        fail("choose one of --json and --jsonl")
    payload = {
        **_filters(text, level, source, trace_id, job),
        **without_none(time_filters(since, until)),
        **without_none({"before": cursor}),
        "limit": limit or (PAGE_MAX if every else 50),
    }
    with opened(server, token) as backend:
        if job:  # a short id as the TUI and `jobs list` show it
            payload["job_id"] = str(backend.resolve_job_id(job))
        pages = _pages(backend, payload, every=every)
        if jsonl:
            last = None
            for last in pages:
                print_jsonl(last.records)
            if last is not None and last.next_cursor:
                err_console.print(f"more: --cursor '{last.next_cursor}'", highlight=False)
            return
        read = list(pages)
    found = LogSearchResult(
        records=[record for page in read for record in page.records],
        next_cursor=read[-1].next_cursor,
    )
    emit(found, as_json=as_json, render=_render_page)


def _render_page(found: LogSearchResult) -> None:
    if not found.records:
        console.print("no log records match")
        return
    console.print(records_table(found.records))
    more = f"; more with --cursor '{found.next_cursor}'" if found.next_cursor else ""
    console.print(
        f"{len(found.records)} record(s), newest first{more}", highlight=False, soft_wrap=True
    )


def records_table(records: list[LogRecordRead]) -> Table:
    # Text cells, never markup: a message may hold "[...]" that rich would parse. The
    # message takes the width left; process and logger names are short and stay whole.
    rendered = Table(header_style="bold")
    rendered.add_column("time (UTC)", no_wrap=True)
    rendered.add_column("level", no_wrap=True)
    rendered.add_column("source / logger", overflow="fold")
    rendered.add_column("message", ratio=1, overflow="fold")
    rendered.add_column("trace", overflow="fold", max_width=16)
    for record in records:
        rendered.add_row(
            Text(_when(record.created_at)),
            Text(record.level, style=STYLE_BY_LEVEL.get(record.level, "")),
            Text(f"{record.source}\n{record.logger}"),
            Text(record.message),
            Text(record.trace_id or ""),
        )
    return rendered


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def record_line(record: LogRecordRead) -> Text:
    """`2024-05-01 12:00:01.123 ERROR   worker@h:12 agentos.jobs: message [trace t job j]`"""
    line = Text(f"{_when(record.created_at)} ")
    line.append(f"{record.level:<8}", style=STYLE_BY_LEVEL.get(record.level, ""))
    line.append(f"{record.source} {record.logger}: {record.message}")
    context = " ".join(
        f"{name} {value}"
        for name, value in (("trace", record.trace_id), ("job", record.job_id))
        if value
    )
    if context:
        line.append(f" [{context}]", style="dim")
    return line


# --- tail -----------------------------------------------------------------------------------


def _show(records: list[LogRecordRead], *, as_json: bool) -> None:
    if as_json:
        print_jsonl(records)
        return
    for record in records:
        console.print(record_line(record), highlight=False, soft_wrap=True)


@app.command("tail", epilog=TAIL_EXAMPLES)
@handle_errors
def tail(
    text: TextOption = None,
    level: LevelOption = None,
    source: SourceOption = None,
    trace_id: TraceOption = None,
    job: JobOption = None,
    since: SinceOption = None,
    lines: Annotated[
        int, typer.Option("--lines", "-n", min=0, max=PAGE_MAX, help="Earlier records shown first.")
    ] = 10,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=1.5,
            help="Seconds between looks (each is one logs.search: mind its rate limit).",
        ),
    ] = 2.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per record (JSON Lines).")
    ] = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Follow new log records as they are written, like `tail -f`, until Ctrl-C.

    The last --lines matching records come first, then every new one, oldest first. The
    same filters as `logs search` apply. Ctrl-C ends it with exit code 0."""
    filters = _filters(text, level, source, trace_id, job)
    start = parse_moment(since, option="--since")
    with opened(server, token) as backend:
        if job:
            filters["job_id"] = str(backend.resolve_job_id(job))
        follower = Follower(backend, filters, start, pause=pause)
        try:
            _show(follower.start(lines), as_json=as_json)
            _follow(follower, interval=interval, as_json=as_json)
        except KeyboardInterrupt:
            return  # Ctrl-C is how one stops following: a normal end, not an error


def _follow(follower: Follower, *, interval: float, as_json: bool) -> None:
    unreachable = False
    while True:
        pause(interval)
        try:
            records = follower.poll()
        except UnavailableError as outage:
            # A restarting server or a database failover: keep following, say so once.
            if not unreachable:
                err_console.print(f"{outage.message}; still trying", highlight=False)
            unreachable = True
            continue
        if unreachable:
            err_console.print("reconnected", highlight=False)
            unreachable = False
        _show(records, as_json=as_json)


# --- export ---------------------------------------------------------------------------------


@app.command("export", epilog=EXPORT_EXAMPLES)
@handle_errors
def export(
    format_: Annotated[
        str, typer.Option("--format", help="File format: jsonl or csv.", show_default=True)
    ] = "jsonl",
    level: LevelOption = None,
    trace_id: TraceOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Write the matching log records, oldest first, to a file in the home's exports/
    folder (on the server's host with --server); print its path and the record count."""
    from agentos.schemas.actions_logs import ExportResult

    payload = {
        "format": format_.lower(),
        **_filters(None, level, None, trace_id, None),
        **without_none(time_filters(since, until)),
    }
    working: AbstractContextManager[Any] = (
        nullcontext() if as_json else err_console.status("exporting...")
    )
    with opened(server, token) as backend:
        with working:
            response = run_named(backend, "logs.export", payload, key=None, yes=False)
        where = " on the server's host" if backend.kind == "http" else ""
    result = ExportResult.model_validate(response.result)
    if as_json:
        print_json(result)
        return
    console.print(
        f"{result.count} log record(s) written to {result.path}{where} "
        f"({result.format}, {human_bytes(result.bytes)})",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
