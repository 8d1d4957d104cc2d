"""One job: its fields, processing steps and clips. Escape goes back."""

from __future__ import annotations

import uuid
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from agentos.errors import AgentOSError
from agentos.schemas.jobs import JobDetail
from agentos.tui.screens.base import ViewScreen
from agentos.tui.widgets import health
from agentos.tui.widgets.table import KeyedTable


class JobDetailScreen(ViewScreen):
    VIEW = "job"
    TITLE = "Job"

    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__()
        self.job_id = job_id
        self.detail: JobDetail | None = None

    def body(self) -> ComposeResult:
        yield Static(f"loading job {self.job_id} …", id="job-summary")
        yield Label("Processing steps", classes="section")
        yield KeyedTable(
            ["agent", "try", "status", "progress", "worker", "started", "ms", "error"],
            id="steps",
        )
        yield Label("Clips", classes="section")
        yield KeyedTable(
            ["#", "start", "end", "duration", "resolution", "codec", "size", "status"], id="clips"
        )

    def refresh_data(self) -> None:
        self.run_worker(self._fetch, thread=True, group="job-detail", exit_on_error=False)

    def on_change(self, payload: dict[str, Any]) -> None:
        if str(payload.get("job_id")) == str(self.job_id) or payload.get("kind") == "resync":
            self.refresh_data()

    def _fetch(self) -> None:
        try:
            detail = self.tui.source.job(self.job_id)
        except AgentOSError as exc:
            self.app.call_from_thread(self._show_error, exc.message)
        else:
            self.app.call_from_thread(self._show, detail)

    def _show_error(self, message: str) -> None:
        self.query_one("#job-summary", Static).update(Text(message, style="bold red"))

    def _show(self, job: JobDetail) -> None:
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
        if job.error:
            summary.append(f"\nerror {job.error_code or ''}: {job.error}", style="red")
        self.query_one("#job-summary", Static).update(summary)
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

    def selection_context(self) -> dict[str, str]:
        return {"job_id": str(self.job_id)}

    def _run(self, name: str) -> None:
        self.tui.run_admin_action(name, {"job_id": str(self.job_id)})

    def action_cancel(self) -> None:
        self._run("job.cancel")

    def action_retry(self) -> None:
        self._run("job.retry")

    def action_delete(self) -> None:
        self._run("job.delete")
