"""Jobs & Queue (2): one page of jobs at a time (fetched, never all of them), filter,
sort within the page, marks for bulk actions, drill-down into a job."""

from __future__ import annotations

import uuid
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from agentos.errors import AgentOSError
from agentos.schemas.common import Page
from agentos.schemas.jobs import JOB_STATUSES, JobRead
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.screens.modals import ask_whole_number
from agentos.tui.widgets import health
from agentos.tui.widgets.table import KeyedTable

PER_PAGE = 100
SORTS: tuple[str, ...] = ("newest", "priority", "status", "title", "progress")
COLUMNS = ("✓", "id", "title", "status", "stage", "progress", "prio", "tries", "created", "age")
EMPTY = "no jobs yet — run `agentos db reset-and-seed`"


def parse_filter(text: str) -> tuple[list[str], str | None]:
    """`failed queued keynote` -> statuses [failed, queued] and title search 'keynote'."""
    statuses, words = [], []
    for word in text.split():
        value = word.removeprefix("status:")
        parts = value.split(",")
        if all(part in JOB_STATUSES for part in parts):
            statuses.extend(parts)
        else:
            words.append(word)
    return statuses, " ".join(words) or None


class JobsScreen(ViewScreen):
    VIEW = "jobs"
    TITLE = "Jobs & Queue"

    def __init__(self) -> None:
        super().__init__()
        self.page_number = 1
        self.page: Page[JobRead] | None = None
        self.sort = SORTS[0]
        self.marked: set[str] = set()
        self._fetching = False
        self._again = False

    def body(self) -> ComposeResult:
        yield Static("", id="queue-line")
        yield KeyedTable(COLUMNS, id="jobs")
        yield Static("", id="page-line")
        yield Static("", id="empty", classes="empty")

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#jobs", KeyedTable)

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self._queue_line()
        self.fetch()

    def on_change(self, payload: dict[str, Any]) -> None:
        self.fetch()

    def apply_filter(self) -> None:
        self.page_number = 1
        self.fetch()

    def fetch(self) -> None:
        if self._fetching:
            self._again = True
            return
        self._fetching = True
        statuses, search = parse_filter(self.filter_text)
        number = self.page_number
        self.run_worker(
            lambda: self._fetch(statuses, search, number),
            thread=True,
            group="jobs-page",
            exit_on_error=False,
        )

    def _fetch(self, statuses: list[str], search: str | None, number: int) -> None:
        try:
            page = self.tui.source.jobs(
                status=statuses, search=search, page=number, per_page=PER_PAGE
            )
        except AgentOSError as exc:
            self.app.call_from_thread(self._fetched, None, exc.message)
        else:
            self.app.call_from_thread(self._fetched, page, None)

    def _fetched(self, page: Page[JobRead] | None, error: str | None) -> None:
        self._fetching = False
        if error is not None:
            self.notify(error, title="jobs", severity="error")
        elif page is not None:
            self.page = page
            self._show_page()
        if self._again:
            self._again = False
            self.fetch()

    # -- rendering -------------------------------------------------------------------------

    def _sorted(self, jobs: list[JobRead]) -> list[JobRead]:
        if self.sort == "priority":
            return sorted(jobs, key=lambda job: -job.priority)
        if self.sort == "status":
            return sorted(jobs, key=lambda job: JOB_STATUSES.index(job.status.value))
        if self.sort == "title":
            return sorted(jobs, key=lambda job: job.title.lower())
        if self.sort == "progress":
            return sorted(jobs, key=lambda job: -job.progress)
        return jobs

    def _row(self, job: JobRead, now: float) -> tuple[Any, ...]:
        age = now - job.updated_at.timestamp()
        stalled = job.status.value == "processing" and age > self.tui.source.stall_after_s
        waiting = job.status.value == "queued" and job.queued_at is not None
        age_cell: Text | str = (
            health.wait_text(now - job.queued_at.timestamp())
            if waiting and job.queued_at is not None
            else health.duration(max(0.0, age))
        )
        return (
            "✓" if str(job.id) in self.marked else "",
            str(job.id)[:8],
            job.title[:40],
            health.status_text(job.status.value, stalled=stalled),
            job.current_stage or "-",
            f"{job.progress:.0%}",
            str(job.priority),
            f"{job.attempts}/{job.max_attempts}",
            health.when(job.created_at),
            age_cell,
        )

    def _show_page(self) -> None:
        if self.page is None:
            return
        now = self.tui.clock()
        jobs = self._sorted(self.page.data)
        self.table.sync([(str(job.id), self._row(job, now)) for job in jobs])
        info = self.page.pagination
        marks = f"  marked {len(self.marked)}" if self.marked else ""
        self.query_one("#page-line", Static).update(
            f"page {info.page}/{info.total_pages}  ·  {info.total} jobs  ·  sort {self.sort}{marks}"
        )
        if info.total == 0:
            empty = EMPTY if not self.filter_text else f"no jobs match {self.filter_text!r}"
        else:
            empty = ""
        self.query_one("#empty", Static).update(empty)

    def _queue_line(self) -> None:
        if self.snap is None:
            return
        queue = self.snap.document.queue
        line = Text.assemble(
            ("Queue ", "bold"),
            ("PAUSED  ", "bold black on yellow") if queue.paused else ("running  ", "green"),
            f"pending {queue.pending_jobs}  queued {queue.queued_jobs}  "
            f"processing {queue.processing_jobs}  depth {queue.total_depth}  oldest wait ",
            health.wait_text(queue.oldest_waiting_s),
        )
        self.query_one("#queue-line", Static).update(line)

    # -- keys ------------------------------------------------------------------------------

    def selection_context(self) -> dict[str, str]:
        key = self.table.current_key
        return {"job_id": key} if key else {}

    def _selected(self) -> str | None:
        key = self.table.current_key
        if key is None:
            self.notify("no job selected")
        return key

    @on(DataTable.RowSelected, "#jobs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        key = self._selected()
        if key is not None:
            self.app.push_screen(JobDetailScreen(uuid.UUID(key)))

    def action_mark(self) -> None:
        key = self._selected()
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self._show_page()
        self.table.move_cursor(row=min(self.table.cursor_row + 1, len(self.table.keys) - 1))

    def action_clear(self) -> None:
        self.marked.clear()
        if self.filter_text:
            self.set_filter("")
        else:
            self._show_page()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._show_page()

    def action_page(self, step: int) -> None:
        if self.page is None:
            return
        target = self.page_number + step
        if 1 <= target <= self.page.pagination.total_pages:
            self.page_number = target
            self.fetch()

    def _job_action(self, name: str, what: str) -> None:
        if self.marked:
            payloads = [{"job_id": key} for key in sorted(self.marked)]
            self.tui.run_bulk(name, payloads, what=f"marked jobs ({what})")
            self.marked.clear()
            return
        key = self._selected()
        if key is not None:
            self.tui.run_admin_action(name, {"job_id": key})

    def action_cancel(self) -> None:
        self._job_action("job.cancel", "cancel")

    def action_retry(self) -> None:
        self._job_action("job.retry", "retry")

    def action_delete(self) -> None:
        self._job_action("job.delete", "delete")

    def action_priority(self) -> None:
        key = self._selected()
        if key is None:
            return
        ask_whole_number(
            self.app,
            "Priority (-100..100)",
            lambda priority: self.tui.run_admin_action(
                "job.set_priority", {"job_id": key, "priority": priority}
            ),
            placeholder="10",
        )

    def action_pause_queue(self) -> None:
        self.tui.run_admin_action("queue.pause")

    def action_resume_queue(self) -> None:
        self.tui.run_admin_action("queue.resume")
