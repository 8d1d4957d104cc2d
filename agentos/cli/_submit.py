"""What `agentos jobs submit` shows while it works: the upload's progress, and with --wait
the job's, after making sure something will run the job.

A job waits in the queue until a worker (Celery, or the embedded pools of `agentos
serve`) takes it. Before following the job, `follow_job` asks which pipeline agents have
no online worker. Then, locally on an embedded home, it runs their work in this process
until the job ends; elsewhere it says at once that nothing will process the job and how
to start a worker, then waits. It never waits in silence.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from agentos.cli._output import console, err_console
from agentos.errors import AgentOSError, ForbiddenError, InvalidError

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.jobs import JobDetail, JobOptions

STALL_NOTICE_S = 30.0
START_WORKERS = (
    "start one with `agentos worker` (Redis deployments) or `agentos serve` (embedded: its "
    "workers run in the server)"
)


def upload(
    backend: Backend,
    file: Path,
    *,
    title: str | None,
    priority: int,
    options: JobOptions,
    chunk_mb: float,
    quiet: bool,
) -> uuid.UUID:
    """Send the file in chunks (progress bars on a terminal) and create its job."""
    from agentos.client import uploading

    size = file.stat().st_size if file.is_file() else 0
    with _transfer_progress(quiet=quiet) as progress:
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
    return result.job_id


def _transfer_progress(*, quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )


def follow_job(
    backend: Backend, job_id: uuid.UUID, *, quiet: bool, timeout_s: float | None
) -> JobDetail:
    """Follow the job to its end, making sure something runs it (see the module doc)."""
    from agentos.client import uploading

    with _runner_for(backend, job_id), _JobProgress(quiet=quiet) as progress:
        return uploading.follow(
            backend,
            job_id,
            on_change=progress.update,
            timeout_s=timeout_s,
            on_idle=_StallNotice(job_id),
        )


class _StallNotice:
    """Once a job has sat queued for a while (the workforce could not be read, or its
    worker went away), say so instead of waiting in silence."""

    def __init__(self, job_id: uuid.UUID, after_s: float = STALL_NOTICE_S) -> None:
        self.job_id, self.after_s, self.said = job_id, after_s, False

    def __call__(self, detail: JobDetail, idle_s: float) -> None:
        if self.said or idle_s < self.after_s or detail.status.value != "queued":
            return
        self.said = True
        err_console.print(
            f"[yellow]warning:[/yellow] job {self.job_id} has waited at "
            f"{detail.current_stage or 'the queue'} for {idle_s:.0f} s: is a worker running? "
            f"{START_WORKERS[0].upper()}{START_WORKERS[1:]}.",
            highlight=False,
        )


def _runner_for(backend: Backend, job_id: uuid.UUID) -> AbstractContextManager[Any]:
    unserved = _unserved(backend)
    if not unserved:
        return nullcontext()
    runner = backend.in_process_runner(unserved)
    if runner is not None:
        err_console.print(
            f"no worker is running for {', '.join(unserved)} on this home: running job "
            f"{job_id} in this process until it ends (`agentos serve` keeps workers running)",
            highlight=False,
        )
        return runner
    _warn(unserved, job_id, "Waiting (Ctrl-C stops waiting; the job stays queued).")
    return nullcontext()


def warn_if_unserved(backend: Backend, job_id: uuid.UUID) -> None:
    """After a submit without --wait: say at once when nothing will run the job."""
    unserved = _unserved(backend)
    if unserved:
        here = backend.in_process_runner(unserved) is not None  # not started: just asked
        _warn(unserved, job_id, "(`--wait` runs it in this process)" if here else "")


def _unserved(backend: Backend) -> list[str]:
    try:
        return backend.unserved_agents()
    except ForbiddenError:  # a role that may not read the workforce: cannot tell
        return []


def _warn(unserved: list[str], job_id: uuid.UUID, then: str) -> None:
    err_console.print(
        f"[yellow]warning:[/yellow] no online worker serves {', '.join(unserved)}: job "
        f"{job_id} will wait in the queue until one starts; {START_WORKERS}. {then}".rstrip(),
        highlight=False,
    )


class _JobProgress:
    """A progress bar on a terminal; one line per change otherwise; nothing under --json."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _JobProgress:
        if not self.quiet and console.is_terminal:
            self.bar = Progress(
                TextColumn("{task.description:<26}"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}%"),
                TimeElapsedColumn(),
                console=console,
            )
            self.bar.start()
            self.task = self.bar.add_task("queued", total=100)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, detail: JobDetail) -> None:
        if self.quiet:
            return
        if self.bar is not None and self.task is not None:
            stage = detail.current_stage or "-"
            self.bar.update(
                self.task,
                description=f"{detail.status.value} · {stage}",
                completed=detail.progress * 100,
            )
            return
        print_stage(detail)


def print_stage(detail: JobDetail) -> None:
    stage = detail.current_stage or "-"
    line = f"{detail.status.value:<10} stage {stage:<8} {detail.progress * 100:5.1f}%"
    if detail.error:
        line += f"  {detail.error}"
    console.print(line, highlight=False, markup=False)


def warnings_of(backend: Backend) -> list[str]:
    """The dashboard's warnings (no workers, agents nobody serves), when this user may read
    the admin document; none otherwise."""
    try:
        return [item.message for item in backend.snapshot().document.dashboard.warnings]
    except AgentOSError:
        return []
