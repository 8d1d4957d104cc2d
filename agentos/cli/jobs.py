"""`agentos jobs submit|list|show|watch`.

Ids: on a terminal a job id is shown as its shortest unique prefix of 8+ characters, which
every command and action takes back (`agentos jobs show be1ce8cf`); piped, the full id.
"""

from __future__ import annotations

import shlex
import time
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption, examples
from agentos.cli._output import console, emit, handle_errors, short_ids, table
from agentos.errors import InvalidError

if TYPE_CHECKING:
    from rich.table import Table

    from agentos.schemas.common import Page
    from agentos.schemas.jobs import JobDetail, JobRead
    from agentos.schemas.queue import QueueStatus

app = typer.Typer(
    help="Submit, list, inspect and follow jobs.", no_args_is_help=True, add_completion=False
)
JOB_COLUMNS = ("id", "title", "status", "stage", "progress", "attempts", "priority", "created")


class Status(StrEnum):
    """A job's status, as `--status` takes it (the values of `JobStatus`)."""

    pending = "pending"
    queued = "queued"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


NARROW = 110  # below this many columns, the table keeps what fits: no attempts or priority


def _job_row(job: JobRead, shown_id: str, *, narrow: bool) -> tuple[object, ...]:
    created = job.created_at.strftime("%m-%d %H:%M" if narrow else "%Y-%m-%d %H:%M:%S")
    row = (
        shown_id,
        job.title,
        job.status.value,
        job.current_stage or "",
        f"{job.progress * 100:.0f}%",
        job.attempts,
        job.priority,
        created,
    )
    return (*row[:5], row[7]) if narrow else row


def jobs_table(jobs: list[JobRead], title: str | None = None) -> Table:
    ids = short_ids(job.id for job in jobs)
    narrow = console.width < NARROW
    columns = (*JOB_COLUMNS[:5], JOB_COLUMNS[7]) if narrow else JOB_COLUMNS
    rows = [_job_row(job, ids[str(job.id)], narrow=narrow) for job in jobs]
    rendered = table(title, columns, rows)
    for index, name in enumerate(columns):  # ids are copied whole; the rest reads at once
        rendered.columns[index].no_wrap = name != "title"
    return rendered


@app.command(
    "list",
    epilog=examples(
        "agentos jobs list",
        "agentos jobs list --status failed --status cancelled",
        "agentos jobs list --search interview --per-page 50",
        "agentos jobs list --cursor eyJ2IjoxLC...   # the next page, as the last one printed",
        "agentos jobs list --json | jq -r '.pagination.next_cursor'",
    ),
)
@handle_errors
def list_jobs(
    status: Annotated[
        list[Status] | None, typer.Option("--status", help="Only this status (repeatable).")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Text in the title.")] = None,
    page: Annotated[
        int, typer.Option(min=1, help="Page number (a deep one is slow: use --cursor).")
    ] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Jobs per page.")] = 20,
    cursor: Annotated[
        str | None,
        typer.Option(
            help="Where the last page ended (its `next:` line, or pagination.next_cursor "
            "with --json): the next page, as quick at any depth; same --status/--search."
        ),
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Jobs, newest first (ids: short on a terminal, full when piped)."""
    from agentos.schemas.jobs import JobStatus

    wanted = [JobStatus(item.value) for item in status] if status else None
    with opened(server, token) as backend:
        result = backend.list_jobs(
            status=wanted, search=search, page=page, per_page=per_page, cursor=cursor
        )
    again = ["agentos jobs list", *(f"--status {item.value}" for item in status or [])]
    again += [f"--search {shlex.quote(search)}"] if search else []
    again += [f"--per-page {per_page}"] if per_page != 20 else []
    again += [f"--server {shlex.quote(server)}"] if server else []
    render = partial(_render_page, filtered=bool(status or search), again=" ".join(again))
    emit(result, as_json=as_json, render=render)


def _render_page(result: Page[JobRead], *, filtered: bool, again: str) -> None:
    info = result.pagination
    if not result.data:
        if filtered or info.page > 1:
            console.print(f"no jobs match (page {info.page}, {info.total} in all)")
        else:
            console.print(
                "no jobs yet: `agentos jobs submit FILE` uploads a video and creates one",
                highlight=False,
            )
        return
    console.print(jobs_table(result.data))
    console.print(f"page {info.page}/{info.total_pages}, {info.total} jobs", highlight=False)
    if info.next_cursor:  # the next page by cursor: no OFFSET over the jobs before it
        console.print(f"next: {again} --cursor {info.next_cursor}", highlight=False, soft_wrap=True)


@app.command(
    "show",
    epilog=examples(
        "agentos jobs show be1ce8cf",
        "agentos jobs show be1ce8cf-6a0e-4a4f-9c1e-3f0c2f1d9b7a --json",
        "agentos jobs show be1ce8cf --server https://agentos.example.com",
    ),
)
@handle_errors
def show(
    job_id: Annotated[
        str,
        typer.Argument(
            help="Job id, or a unique prefix of it (4+ hex digits, as `jobs list` and the "
            "TUI show them).",
            metavar="ID",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """One job with its processing steps and clips."""
    with opened(server, token) as backend:
        detail = backend.show_job(backend.resolve_job_id(job_id))
    emit(detail, as_json=as_json, render=_render_detail)


def _render_detail(job: JobDetail) -> None:
    console.print(jobs_table([job], title=f"job {job.id}"))
    if job.error:
        console.print(
            Text.assemble(("error: ", "red"), f"{job.error} ({job.error_code})"), highlight=False
        )
    steps = [
        (s.agent, s.attempt, s.status, f"{s.progress * 100:.0f}%",
         f"{s.duration_ms / 1000:.2f}s" if s.duration_ms is not None else "", s.error or "")
        for s in job.steps
    ]  # fmt: skip
    if steps:
        columns = ("agent", "attempt", "status", "progress", "took", "error")
        console.print(table("steps", columns, steps))
    else:
        console.print("no processing steps yet")
    clips = [
        (c.ordinal, f"{c.start:.2f}", f"{c.end:.2f}", f"{c.duration:.2f}", c.resolution, c.path)
        for c in job.clips
    ]
    if clips:
        columns = ("#", "start", "end", "duration", "resolution", "path")
        console.print(table("clips", columns, clips))
    else:
        console.print("no clips")


@app.command(
    "watch",
    epilog=examples(
        "agentos jobs watch",
        "agentos jobs watch --interval 5 --limit 40",
        "agentos jobs watch --server https://agentos.example.com",
    ),
)
@handle_errors
def watch(
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 1.0,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Jobs shown.")] = 20,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """A live table of the newest jobs and the queue, refreshed until Ctrl-C; warns when no
    worker serves queued work."""
    from agentos.cli._submit import warnings_of

    with opened(server, token) as backend, Live(console=console, auto_refresh=False) as live:
        while True:
            jobs = backend.list_jobs(per_page=limit).data
            lines = [Text(f"! {message}", style="bold red") for message in warnings_of(backend)]
            live.update(Group(*lines, _queue_line(backend.queue_status()), jobs_table(jobs)))
            live.refresh()
            time.sleep(interval)


def _queue_line(state: QueueStatus) -> Text:
    line = Text("queue")
    if state.paused:
        line.append(" (paused)", style="yellow")
    depth = ", ".join(f"{a.agent} {a.queued}/{a.running}" for a in state.agents)
    line.append(f": {state.queued} queued, {state.processing} processing  |  {depth}")
    return line


@app.command(
    "submit",
    epilog=examples(
        "agentos jobs submit interview.mp4",
        "agentos jobs submit interview.mp4 --wait",
        "agentos jobs submit interview.mp4 --wait --json --timeout 600 | jq -r .status",
        "agentos jobs submit talk.mov --title 'Keynote' --priority 50 --min-clip-s 5",
        "agentos jobs submit big.mp4 --server https://agentos.example.com --chunk-mb 32",
    ),
)
@handle_errors
def submit(
    file: Annotated[
        Path, typer.Argument(help="The video to upload.", metavar="FILE", show_default=False)
    ],
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Follow the job until it ends (exit 1 unless it completes). With no worker "
            "running on a local embedded home, the job runs in this process.",
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=1,
            metavar="SECONDS",
            help="With --wait: stop waiting after this long (exit 7, WAIT_TIMEOUT); the job "
            "goes on.",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Job title (default: the file name).", metavar="TEXT")
    ] = None,
    priority: Annotated[int, typer.Option(min=-100, max=100, help="Dispatch priority.")] = 0,
    min_clip_s: Annotated[float | None, typer.Option(help="Shortest clip, seconds.")] = None,
    max_clip_s: Annotated[float | None, typer.Option(help="Longest clip, seconds.")] = None,
    chunk_mb: Annotated[float, typer.Option(min=0.0625, help="Upload chunk size, MiB.")] = 8.0,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Upload a video in resumable chunks and create its job; --wait follows it to the end."""
    from agentos.cli import _submit
    from agentos.schemas.jobs import JobOptions

    try:
        options = JobOptions(min_clip_s=min_clip_s, max_clip_s=max_clip_s)
    except ValueError as exc:
        raise InvalidError(str(exc).splitlines()[-1], code="INVALID_OPTIONS") from exc
    with opened(server, token) as backend:
        job_id = _submit.upload(
            backend,
            file,
            title=title,
            priority=priority,
            options=options,
            chunk_mb=chunk_mb,
            quiet=as_json,
        )
        if wait:
            detail = _submit.follow_job(backend, job_id, quiet=as_json, timeout_s=timeout)
        else:
            detail = backend.show_job(job_id)
            _submit.warn_if_unserved(backend, job_id)
    emit(detail, as_json=as_json, render=lambda d: console.print(f"job {d.id}: {d.status.value}"))
    if wait and detail.status.value != "completed":
        raise typer.Exit(1)
