"""Jobs & Queue (2): one page of jobs at a time (fetched, never all of them), filtered and
ordered on the server across pages, marks for bulk actions, drill-down into a job.

Pages are walked with the server's cursors (`next_cursor`, `prev_cursor`): the page after
the last row seen, as quick at the millionth job as at the first, and a refresh keeps the
same rows in view while new jobs arrive (the first page shows the newest).

Marks are kept until their action's answer: the rows it was done for are unmarked, the
others stay marked with a per-row report. Escape clears the marks, then the filter.
"""

from __future__ import annotations

import uuid
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from agentos.errors import AgentOSError
from agentos.schemas.common import Page
from agentos.schemas.jobs import JobRead
from agentos.tui.bulk import BulkReport, BulkRow
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.screens.modals import ask_whole_number
from agentos.tui.widgets import health
from agentos.tui.widgets import jobs_rows as rows
from agentos.tui.widgets.table import KeyedTable

PER_PAGE = 100
# (filter, cursor of the page, sort, descending): what a fetch was for.
Asked = tuple[str, str | None, str, bool]


class JobsScreen(ViewScreen):
    VIEW = "jobs"
    TITLE = "Jobs & Queue"

    def __init__(self) -> None:
        super().__init__()
        self.cursor: str | None = None  # the page shown: None for the first, else its cursor
        self.page: Page[JobRead] | None = None
        self.sort = rows.SORTS[0]
        self.descending = True
        self.marked: dict[str, JobRead] = {}  # id -> the job as last seen (any page)
        self.shorts: dict[str, str] = {}
        self._fetching = False
        self._again = False
        self._to_top = False  # a new filter, order or page: the cursor starts at the top

    def body(self) -> ComposeResult:
        yield Static("", id="queue-line")
        yield KeyedTable(rows.COLUMNS, id="jobs")
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
        self._reread()

    def _reread(self) -> None:
        """A new filter or order: from its first page, the cursor row at the top."""
        self.cursor = None
        self._to_top = True
        self.fetch()

    def fetch(self) -> None:
        if self._fetching:
            self._again = True
            return
        self._fetching = True
        asked = self._asking()
        self.run_worker(
            lambda: self._fetch(asked), thread=True, group="jobs-page", exit_on_error=False
        )

    def _asking(self) -> Asked:
        """What the list shows now: an answer to anything else is not shown."""
        return (self.filter_text, self.cursor, self.sort, self.descending)

    def _fetch(self, asked: Asked) -> None:
        text, cursor, sort, descending = asked
        query = rows.parse_filter(text)
        try:
            page = self.tui.source.jobs(
                status=list(query.statuses),
                search=query.search,
                page=1,
                per_page=PER_PAGE,
                sort=sort,
                order="desc" if descending else "asc",
                id_prefix=query.id_prefix,
                cursor=cursor,
            )
        except AgentOSError as exc:
            self.app.call_from_thread(self._fetched, asked, None, exc.message)
        else:
            self.app.call_from_thread(self._fetched, asked, page, None)

    def _fetched(self, asked: Asked, page: Page[JobRead] | None, error: str | None) -> None:
        self._fetching = False
        if error is not None:
            self.notify(error, title="jobs", severity="error", markup=False)
        elif page is not None and asked == self._asking():
            self.page = page
            self._show_page()
        if self._again:
            self._again = False
            self.fetch()

    # -- rendering -------------------------------------------------------------------------

    def _show_page(self) -> None:
        if self.page is None or not self.live:
            return
        now = self.tui.clock()
        jobs = self.page.data
        for job in jobs:  # marked rows keep their latest state for the question
            if str(job.id) in self.marked:
                self.marked[str(job.id)] = job
        self.shorts = rows.unique_prefixes(str(job.id) for job in jobs)
        wide = self.app.size.width >= rows.WIDE
        table = self.table
        column, arrow = rows.indicator(self.sort, self.descending, table.column_names)
        table.set_sort(column, descending=arrow)
        stall = self.tui.source.stall_after_s
        table.sync(
            [
                (
                    str(job.id),
                    rows.job_row(
                        job,
                        now=now,
                        marked=str(job.id) in self.marked,
                        short=self.shorts[str(job.id)],
                        stall_after_s=stall,
                        wide=wide,
                    ),
                )
                for job in jobs
            ],
            to_top=self._to_top,
        )
        self._to_top = False
        self._page_line()

    def _page_line(self) -> None:
        if self.page is None:
            return
        info = self.page.pagination
        marks = f"  ·  marked {len(self.marked)} (Esc clears)" if self.marked else ""
        order = rows.order_words(self.sort, self.descending)
        self.query_one("#page-line", Static).update(
            f"page {info.page}/{info.total_pages} ([ ])  ·  {info.total} jobs  ·  "
            f"sorted by {rows.sort_name(self.sort)}, {order} (s, S){marks}"
        )
        if info.total == 0:
            empty = (
                rows.no_jobs(self.snap.document if self.snap else None)
                if not self.filter_text
                else f"no jobs match {self.filter_text!r}"
            )
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

    # -- selection -------------------------------------------------------------------------

    def selection_context(self) -> dict[str, str]:
        key = self.table.current_key
        return {"job_id": key} if key else {}

    def _selected(self) -> str | None:
        key = self.table.current_key
        if key is None:
            self.notify("no job selected")
        return key

    def _job(self, key: str) -> JobRead | None:
        found = self.page.data if self.page else []
        return next((job for job in found if str(job.id) == key), self.marked.get(key))

    def _label(self, key: str) -> str:
        job = self._job(key)
        return rows.label(job, self.shorts.get(key)) if job else key

    @on(DataTable.RowSelected, "#jobs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    @on(DataTable.HeaderSelected, "#jobs")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        field = self.table.sort_field(event.column_key)
        if field is None:
            return
        if field == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = field, field in rows.DESCENDING_FIRST
        self._reread()

    # -- keys ------------------------------------------------------------------------------

    def action_open(self) -> None:
        key = self._selected()
        if key is not None:
            self.app.push_screen(JobDetailScreen(uuid.UUID(key)))

    def action_copy_id(self) -> None:
        key = self._selected()
        if key is not None:
            self.app.copy_to_clipboard(key)
            self.notify(f"copied {key}", title="job id")

    def action_mark(self) -> None:
        key = self._selected()
        if key is None:
            return
        if key in self.marked:
            del self.marked[key]
        else:
            job = self._job(key)
            if job is not None:
                self.marked[key] = job
        self._show_page()
        self.table.move_cursor(row=min(self.table.cursor_row + 1, len(self.table.keys) - 1))

    def action_clear(self) -> None:
        if self.marked:
            self.marked.clear()
            self._show_page()
        elif self.filter_text:
            self.set_filter("")

    def action_sort(self) -> None:
        self.sort = rows.SORTS[(rows.SORTS.index(self.sort) + 1) % len(rows.SORTS)]
        self.descending = self.sort in rows.DESCENDING_FIRST
        self._reread()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self._reread()

    def action_page(self, step: int) -> None:
        if self.page is None:
            return
        info = self.page.pagination
        cursor = info.next_cursor if step > 0 else info.prev_cursor
        if cursor is not None:
            self.cursor = cursor
            self._to_top = True
            self.fetch()

    def _job_action(self, name: str) -> None:
        if self.marked:
            bulk = [
                BulkRow(key, rows.label(job, self.shorts.get(key)), {"job_id": key})
                for key, job in sorted(self.marked.items())
            ]
            self.tui.run_bulk(name, bulk, noun="marked jobs", finished=self._bulk_finished)
            return
        key = self._selected()
        if key is not None:
            self.tui.run_admin_action(name, {"job_id": key}, subject=f"job {self._label(key)}")

    def _bulk_finished(self, report: BulkReport) -> None:
        for key in report.done:
            self.marked.pop(key, None)
        if self.live:
            self._show_page()

    def action_cancel(self) -> None:
        self._job_action("job.cancel")

    def action_retry(self) -> None:
        self._job_action("job.retry")

    def action_delete(self) -> None:
        self._job_action("job.delete")

    def action_priority(self) -> None:
        key = self._selected()
        if key is None:
            return
        ask_whole_number(
            self.app,
            f"Priority of job {self._label(key)} (-100..100)",
            lambda priority: self.tui.run_admin_action(
                "job.set_priority", {"job_id": key, "priority": priority}
            ),
            placeholder="10",
        )

    def action_pause_queue(self) -> None:
        self.tui.run_admin_action("queue.pause")

    def action_resume_queue(self) -> None:
        self.tui.run_admin_action("queue.resume")
