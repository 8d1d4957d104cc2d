"""Failures (9): failed jobs grouped by error code with their counts, the jobs of the
group under the cursor, and the jobs waiting for another attempt with its time.

t retries every job of the selected group (listed in the question, one job.retry each,
a per-row report). Reads are plain job lists and details (not audited actions): read on
open, on ^r, after a change (at most every `CHANGE_GAP_S`) and otherwise every
`REFRESH_S`.
"""

from __future__ import annotations

import uuid
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Label, Static

from agentos.errors import AgentOSError
from agentos.tui.bulk import BulkReport, BulkRow
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.widgets import failures_rows as rows
from agentos.tui.widgets import jobs_rows
from agentos.tui.widgets.table import KeyedTable

REFRESH_S = 30.0
CHANGE_GAP_S = 10.0
TABLES = ("groups", "group-jobs", "retries")


class FailuresScreen(ViewScreen):
    VIEW = "failures"
    TITLE = "Failures"
    KEY_ACTIONS = {"retry_group": "job.retry"}

    def __init__(self) -> None:
        super().__init__()
        self.failures: rows.Failures | None = None
        self.retries: list[rows.Retry] = []
        self.shorts: dict[str, str] = {}

    def body(self) -> ComposeResult:
        yield Static("loading…", id="failures-state")
        yield Label(
            "Failed jobs by error code (⏎ its jobs, t retry all of these)", classes="section"
        )
        yield KeyedTable(rows.GROUP_COLUMNS, id="groups")
        yield Label("Jobs of the group", classes="section", id="group-title")
        yield KeyedTable(rows.JOB_COLUMNS, id="group-jobs")
        yield Label("Retries waiting (next attempt)", classes="section")
        yield KeyedTable(rows.RETRY_COLUMNS, id="retries")
        yield Static("", id="retries-note", classes="empty")

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        if self.due("failures", REFRESH_S):
            self.fetch()
        elif self.failures is not None:
            self._show()

    def on_change(self, payload: dict[str, Any]) -> None:
        if self.due("failures", CHANGE_GAP_S):
            self.fetch()

    def action_reload(self) -> None:
        self.due("failures", 0, force=True)
        self.fetch()

    def fetch(self) -> None:
        self.run_worker(self._read, thread=True, group="failures", exit_on_error=False)

    def _read(self) -> None:
        try:
            failures = rows.read_failures(self.tui.source)
            retries = rows.read_retries(self.tui.source)
        except AgentOSError as exc:
            self.app.call_from_thread(self._failed, exc.message)
            return
        self.app.call_from_thread(self._loaded, failures, retries)

    def _failed(self, message: str) -> None:
        if self.live:
            self.query_one("#failures-state", Static).update(f"could not read: {message}")

    def _loaded(self, failures: rows.Failures, retries: list[rows.Retry]) -> None:
        if not self.live:
            return
        self.failures, self.retries = failures, retries
        ids = [str(job.id) for item in failures.groups for job in item.jobs]
        ids += [str(retry.job.id) for retry in retries]
        self.shorts = jobs_rows.unique_prefixes(ids)
        self._show()

    # -- rendering -------------------------------------------------------------------------

    def _groups(self) -> list[rows.Group]:
        groups = self.failures.groups if self.failures else []
        return [
            item
            for item in groups
            if self.matches(self.filter_text, item.code, *(job.error for job in item.jobs[:1]))
        ]

    def _show(self) -> None:
        failures = self.failures
        if failures is None:
            return
        partial = f" (the newest {failures.read} grouped)" if failures.read < failures.total else ""
        self.query_one("#failures-state", Static).update(
            f"{failures.total} failed jobs in {len(failures.groups)} error codes{partial}  ·  "
            f"{len(self.retries)} jobs waiting for another attempt"
            if failures.total
            else f"no failed jobs  ·  {len(self.retries)} jobs waiting for another attempt"
        )
        self.query_one("#groups", KeyedTable).sync(
            [(item.code, rows.group_row(item)) for item in self._groups()]
        )
        self._show_group()
        now = self.tui.clock()
        self.query_one("#retries", KeyedTable).sync(
            [
                (str(r.job.id), rows.retry_row(r, self.shorts.get(str(r.job.id), ""), now))
                for r in self.retries
            ]
        )
        self.query_one("#retries-note", Static).update(
            "" if self.retries else "no job is waiting for another attempt"
        )

    def selected_group(self) -> rows.Group | None:
        key = self.query_one("#groups", KeyedTable).current_key
        return next((item for item in self._groups() if item.code == key), None)

    def _show_group(self) -> None:
        chosen = self.selected_group()
        jobs = chosen.jobs if chosen else []
        title = f"Jobs of {chosen.code} ({len(jobs)})" if chosen else "Jobs of the group"
        self.query_one("#group-title", Label).update(title)
        self.query_one("#group-jobs", KeyedTable).sync(
            [(str(job.id), rows.job_row(job, self.shorts.get(str(job.id), ""))) for job in jobs]
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "groups":
            self._show_group()

    # -- keys ------------------------------------------------------------------------------

    def _focused(self) -> KeyedTable:
        focused = self.focused
        if isinstance(focused, KeyedTable) and focused.id in TABLES:
            return focused
        return self.query_one("#groups", KeyedTable)

    def selection_context(self) -> dict[str, str]:
        table = self._focused()
        if table.id != "groups" and table.current_key:
            return {"job_id": table.current_key}
        return {}

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self._focused()
        if table.id == "groups":
            jobs = self.query_one("#group-jobs", KeyedTable)
            jobs.focus()
            if jobs.keys:
                jobs.move_cursor(row=0, animate=False)
            return
        if table.current_key is None:
            self.notify("no job selected")
            return
        self.app.push_screen(JobDetailScreen(uuid.UUID(table.current_key)))

    def action_copy_id(self) -> None:
        key = self._focused().current_key
        if key is None or self._focused().id == "groups":
            self.notify("select a job (⏎ lists the group's jobs)")
            return
        self.app.copy_to_clipboard(key)
        self.notify(f"copied {key}", title="job id")

    def action_retry_group(self) -> None:
        chosen = self.selected_group()
        if chosen is None or not chosen.jobs:
            self.notify("no error code selected")
            return
        bulk = [
            BulkRow(
                str(job.id),
                jobs_rows.label(job, self.shorts.get(str(job.id))),
                {"job_id": str(job.id)},
            )
            for job in chosen.jobs
        ]
        self.tui.run_bulk(
            "job.retry", bulk, noun=f"failed jobs with {chosen.code}", finished=self._retried
        )

    def _retried(self, report: BulkReport) -> None:
        self.action_reload()
