"""`agentos jobs list|show|watch` (and `jobs submit`, registered by the uploads CLI)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import Progress
from rich.table import Table

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption
from agentos.cli._output import console, emit, handle_errors, table
from agentos.client import Backend
from agentos.errors import InvalidError
from agentos.schemas.common import Page
from agentos.schemas.jobs import JobDetail, JobOptions, JobRead, JobStatus
from agentos.schemas.queue import QueueStatus

app = typer.Typer(help="List, inspect and follow jobs.", no_args_is_help=True)
JOB_COLUMNS = ("id", "title", "status", "stage", "progress", "attempts", "priority", "created")

# `agentos jobs submit FILE [--wait] [--json]` is added to this `app` by the uploads CLI
# module (its owner registers it here with `app.command("submit")`).


def _job_row(job: JobRead) -> tuple[object, ...]:
    return (
        job.id,
        job.title,
        job.status.value,
        job.current_stage or "",
        f"{job.progress * 100:.0f}%",
        job.attempts,
        job.priority,
        job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    )


def jobs_table(jobs: list[JobRead], title: str | None = None) -> Table:
    return table(title, JOB_COLUMNS, [_job_row(job) for job in jobs])


@app.command("list")
@handle_errors
def list_jobs(
    status: Annotated[
        list[JobStatus] | None, typer.Option("--status", help="Only this status (repeatable).")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Text in the title.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Jobs per page.")] = 20,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Jobs, newest first."""
    with opened(server, token) as backend:
        result = backend.list_jobs(status=status, search=search, page=page, per_page=per_page)
    emit(result, as_json=as_json, render=_render_page)


def _render_page(result: Page[JobRead]) -> None:
    info = result.pagination
    console.print(jobs_table(result.data))
    console.print(f"page {info.page}/{info.total_pages}, {info.total} jobs", highlight=False)


@app.command("show")
@handle_errors
def show(
    job_id: Annotated[uuid.UUID, typer.Argument(help="Job id.")],
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """One job with its processing steps and clips."""
    with opened(server, token) as backend:
        detail = backend.show_job(job_id)
    emit(detail, as_json=as_json, render=_render_detail)


def _render_detail(job: JobDetail) -> None:
    console.print(jobs_table([job], title=f"job {job.id}"))
    if job.error:
        console.print(f"[red]error:[/red] {job.error} ({job.error_code})", highlight=False)
    steps = [
        (s.agent, s.attempt, s.status, f"{s.progress * 100:.0f}%",
         f"{s.duration_ms / 1000:.2f}s" if s.duration_ms is not None else "", s.error or "")
        for s in job.steps
    ]  # fmt: skip
    console.print(
        table("steps", ("agent", "attempt", "status", "progress", "took", "error"), steps)
    )
    clips = [
        (c.ordinal, f"{c.start:.2f}", f"{c.end:.2f}", f"{c.duration:.2f}", c.resolution, c.path)
        for c in job.clips
    ]
    console.print(table("clips", ("#", "start", "end", "duration", "resolution", "path"), clips))


@app.command("watch")
@handle_errors
def watch(
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 1.0,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Jobs shown.")] = 20,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """A live table of the newest jobs and the queue, refreshed until Ctrl-C."""
    with opened(server, token) as backend, Live(console=console, auto_refresh=False) as live:
        while True:
            jobs = backend.list_jobs(per_page=limit).data
            live.update(Group(_queue_line(backend.queue_status()), jobs_table(jobs)))
            live.refresh()
            time.sleep(interval)


def _queue_line(state: QueueStatus) -> str:
    paused = " [yellow](paused)[/yellow]" if state.paused else ""
    depth = ", ".join(f"{a.agent} {a.queued}/{a.running}" for a in state.agents)
    return f"queue{paused}: {state.queued} queued, {state.processing} processing  |  {depth}"


# --- `agentos jobs submit` (the upload itself is agentos.client.uploading) -----------------


@app.command("submit")
@handle_errors
def submit(
    file: Annotated[Path, typer.Argument(help="The video to upload.")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job until it ends.")] = False,
    title: Annotated[str | None, typer.Option(help="Job title (default: the file name).")] = None,
    priority: Annotated[int, typer.Option(min=-100, max=100, help="Dispatch priority.")] = 0,
    min_clip_s: Annotated[float | None, typer.Option(help="Shortest clip, seconds.")] = None,
    max_clip_s: Annotated[float | None, typer.Option(help="Longest clip, seconds.")] = None,
    chunk_mb: Annotated[float, typer.Option(min=0.0625, help="Upload chunk size, MiB.")] = 8.0,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Upload a video in resumable chunks and create its job; --wait follows it to the end."""
    try:
        options = JobOptions(min_clip_s=min_clip_s, max_clip_s=max_clip_s)
    except ValueError as exc:
        raise InvalidError(str(exc).splitlines()[-1], code="INVALID_OPTIONS") from exc
    with opened(server, token) as backend:
        detail = _submit(backend, file, title, priority, options, chunk_mb, wait, as_json)
    emit(detail, as_json=as_json, render=lambda d: console.print(f"job {d.id}: {d.status.value}"))
    if wait and detail.status.value != "completed":
        raise typer.Exit(1)


def _submit(
    backend: Backend,
    file: Path,
    title: str | None,
    priority: int,
    options: JobOptions,
    chunk_mb: float,
    wait: bool,
    as_json: bool,
) -> JobDetail:
    from agentos.client import uploading

    size = file.stat().st_size if file.is_file() else 0
    with _transfer_progress(quiet=as_json) as progress:
        hashing = progress.add_task("checksum", total=size)
        sending = progress.add_task("upload", total=size)
        result = uploading.submit(
            backend,
            file,
            title=title,
            priority=priority,
            options=options,
            chunk_bytes=int(chunk_mb * 1024 * 1024),
            on_hash=lambda n: progress.advance(hashing, n),
            on_progress=lambda n: progress.advance(sending, n),
        )
    if result.job_id is None:
        raise InvalidError("the upload finished but no job was created", code="NO_JOB")
    if not wait:
        return backend.show_job(result.job_id)
    return uploading.follow(
        backend, result.job_id, on_change=(lambda _d: None) if as_json else _print_stage
    )


def _transfer_progress(*, quiet: bool) -> Progress:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )


def _print_stage(detail: JobDetail) -> None:
    stage = detail.current_stage or "-"
    line = f"{detail.status.value:<10} stage {stage:<8} {detail.progress * 100:5.1f}%"
    if detail.error:
        line += f"  [red]{detail.error}[/red]"
    console.print(line, highlight=False)
