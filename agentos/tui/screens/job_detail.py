"""One job: its fields, its full error (scrolling with the rest; e shows it alone), its
processing steps and clips, and its own events and log lines. Escape goes back, y copies
the job's full id.

The job itself is read on every refresh; its events and log lines are audited
`standard`-rate actions (`events.list`, `logs.search` with its job_id), read when the
screen opens, on ^r, after a change to this job (at most every `CHANGE_GAP_S`) and
otherwise at most every `TRAIL_REFRESH_S`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from agentos.errors import AgentOSError, RateLimitedError
from agentos.schemas.actions_logs import EventList, LogSearchResult
from agentos.schemas.jobs import JobDetail
from agentos.tui import commands
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.reports import TextScreen
from agentos.tui.widgets import health
from agentos.tui.widgets import logs_rows as rows
from agentos.tui.widgets.table import Col, KeyedTable

TRAIL_REFRESH_S = 10.0
CHANGE_GAP_S = 3.0
TRAIL_LIMIT = 100
STEP_COLUMNS = (
    Col("agent"),
    Col("try"),
    Col("status"),
    Col("progress", min_width=100),
    Col("worker", min_width=100),
    Col("started", min_width=120),
    Col("ms"),
    Col("error"),
)
CLIP_COLUMNS = (
    Col("#"),
    Col("start"),
    Col("end"),
    Col("duration"),
    Col("resolution"),
    Col("codec", min_width=100),
    Col("size"),
    Col("status", min_width=100),
)


class JobDetailScreen(ViewScreen):
    VIEW = "job"
    TITLE = "Job"

    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__()
        self.job_id = job_id
        self.detail: JobDetail | None = None

    def body(self) -> ComposeResult:
        with VerticalScroll(id="job-body"):
            yield Static(f"loading job {self.job_id} …", id="job-summary")
            yield Static("", id="job-error")
            yield Label("Processing steps", classes="section")
            yield KeyedTable(STEP_COLUMNS, id="steps")
            yield Static("", id="steps-note", classes="empty")
            yield Label("Clips", classes="section")
            yield KeyedTable(CLIP_COLUMNS, id="clips")
            yield Static("", id="clips-note", classes="empty")
            yield Label("Events", classes="section")
            yield KeyedTable(rows.EVENT_COLUMNS, id="job-events")
            yield Static("loading…", id="job-events-note", classes="empty")
            yield Label("Log lines", classes="section")
            yield KeyedTable(rows.LOG_COLUMNS, id="job-logs")
            yield Static("loading…", id="job-logs-note", classes="empty")

    def refresh_data(self) -> None:
        self.run_worker(self._fetch, thread=True, group="job-detail", exit_on_error=False)
        self._fetch_trail(TRAIL_REFRESH_S)

    def on_change(self, payload: dict[str, Any]) -> None:
        if str(payload.get("job_id")) == str(self.job_id) or payload.get("kind") == "resync":
            self.run_worker(self._fetch, thread=True, group="job-detail", exit_on_error=False)
            self._fetch_trail(CHANGE_GAP_S)

    def action_reload(self) -> None:
        self.refresh_data()
        self._fetch_trail(0, force=True)

    def _fetch_trail(self, every_s: float, *, force: bool = False) -> None:
        """Read the job's events and log lines, each at most once per `every_s`."""
        job = str(self.job_id)
        reads: dict[str, Callable[[], EventList | LogSearchResult]] = {
            "job-events": partial(self.tui.source.events, {"job_id": job, "limit": TRAIL_LIMIT}),
            "job-logs": partial(self.tui.source.logs, {"job_id": job, "limit": TRAIL_LIMIT}),
        }
        for name, read in reads.items():
            if self.due(name, every_s, force=force):
                self.run_worker(
                    partial(self._read_trail, name, read),
                    thread=True,
                    group=name,
                    exit_on_error=False,
                )

    def _read_trail(self, name: str, read: Callable[[], EventList | LogSearchResult]) -> None:
        try:
            answer = read()
        except AgentOSError as exc:
            self.app.call_from_thread(self._trail_failed, name, exc)
            return
        self.app.call_from_thread(self._show_trail, name, answer)

    def _trail_failed(self, name: str, exc: AgentOSError) -> None:
        if not self.live:
            return
        if isinstance(exc, RateLimitedError):
            self.due_again_in(name, max(1.0, exc.retry_after_s), TRAIL_REFRESH_S)
        self.query_one(f"#{name}-note", Static).update(commands.describe_error(exc))

    def _show_trail(self, name: str, answer: EventList | LogSearchResult) -> None:
        if not self.live:
            return
        if isinstance(answer, EventList):
            shown = [(str(event.id), rows.event_row(event)) for event in answer.events]
            empty = "no events about this job"
        else:
            shown = [(str(record.id), rows.log_row(record)) for record in answer.records]
            empty = "no log lines about this job"
        self.query_one(f"#{name}", KeyedTable).sync(shown)
        self.query_one(f"#{name}-note", Static).update("" if shown else empty)

    def _fetch(self) -> None:
        try:
            detail = self.tui.source.job(self.job_id)
        except AgentOSError as exc:
            self.app.call_from_thread(self._show_error, exc.message)
        else:
            self.app.call_from_thread(self._show, detail)

    def _show_error(self, message: str) -> None:
        if self.live:
            self.query_one("#job-summary", Static).update(Text(message, style="bold red"))

    def _show(self, job: JobDetail) -> None:
        if not self.live:
            return
        self.detail = job
        summary = Text.assemble(
            (f"{job.title}", "bold"),
            f"  {job.id}\n",
            "status ",
            health.status_text(job.status.value),
            f"  stage {job.current_stage or '-'}  progress {job.progress:.0%}"
            f"  priority {job.priority}  attempts {job.attempts}/{job.max_attempts}\n",
            f"created {health.when(job.created_at)}  started {health.when(job.started_at)}"
            f"  finished {health.when(job.finished_at)}",
        )
        self.query_one("#job-summary", Static).update(summary)
        error = self.query_one("#job-error", Static)
        error.display = bool(job.error)
        if job.error:  # whole, wrapped: it scrolls with the view (e shows it alone)
            error.update(
                Text.assemble(
                    (f"error {job.error_code or ''} (e: full error)\n", "bold red"), job.error
                )
            )
        self.query_one("#steps", KeyedTable).sync(
            [
                (
                    str(step.id),
                    (
                        step.agent,
                        str(step.attempt),
                        health.status_text(step.status),
                        f"{step.progress:.0%}",
                        step.worker_id or "-",
                        health.when(step.started_at),
                        f"{step.duration_ms:.0f}" if step.duration_ms is not None else "-",
                        (step.error or "")[:60],
                    ),
                )
                for step in job.steps
            ]
        )
        self._note("steps", "no processing steps yet" if not job.steps else "")
        self._note("clips", "no clips" if not job.clips else "")
        self.query_one("#clips", KeyedTable).sync(
            [
                (
                    str(clip.id),
                    (
                        str(clip.ordinal),
                        f"{clip.start:.2f}",
                        f"{clip.end:.2f}",
                        f"{clip.duration:.2f}s",
                        clip.resolution or "-",
                        clip.codec or "-",
                        health.size(clip.size_bytes),
                        str(getattr(clip, "status", "")),
                    ),
                )
                for clip in job.clips
            ]
        )

    def _note(self, name: str, text: str) -> None:
        """An empty table is not drawn: its note says why."""
        self.query_one(f"#{name}", KeyedTable).display = not text
        self.query_one(f"#{name}-note", Static).update(text)

    def full_error(self) -> str:
        job = self.detail
        if job is None:
            return ""
        parts = [f"{job.error_code or 'error'}: {job.error}"] if job.error else []
        parts += [
            f"{step.agent} (try {step.attempt}, {step.status}): {step.error}"
            for step in job.steps
            if step.error
        ]
        return "\n\n".join(parts)

    def action_error(self) -> None:
        text = self.full_error()
        if not text:
            self.notify("this job has no error")
            return
        self.app.push_screen(TextScreen(f"Errors of job {self.job_id}", text))

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(str(self.job_id))
        self.notify(f"copied {self.job_id}", title="job id")

    def selection_context(self) -> dict[str, str]:
        return {"job_id": str(self.job_id)}

    def _run(self, name: str) -> None:
        job = self.detail
        subject = f"job {str(self.job_id)[:8]}" + (
            f"  {job.title}  ({job.status.value})" if job is not None else ""
        )
        self.tui.run_admin_action(name, {"job_id": str(self.job_id)}, subject=subject)

    def action_cancel(self) -> None:
        self._run("job.cancel")

    def action_retry(self) -> None:
        self._run("job.retry")

    def action_delete(self) -> None:
        self._run("job.delete")
