"""Failures (9): failed jobs grouped by error code with exact counts, the newest jobs of
the group under the cursor, and the stage attempts waiting for a retry with when each may
start, all counted by the core over every row (`Source.figures`).

t retries the listed jobs of the selected group (named in the question, one job.retry
each, a per-row report). The figures are a plain read (not an audited action): read on
open, on ^r, when the cursor moves to another group, after a change (at most every
`CHANGE_GAP_S`) and otherwise every `REFRESH_S`.
"""

from __future__ import annotations

import uuid
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Label, Static

from agentos.errors import AgentOSError
from agentos.schemas.figures import FailureGroup, LiveFigures
from agentos.schemas.jobs import JobRead
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
        self.figures: LiveFigures | None = None
        self.jobs_key: str | None = None  # the group whose jobs `figures` lists
        self.reading = False
        self.shorts: dict[str, str] = {}

    def body(self) -> ComposeResult:
        yield Static("loading…", id="failures-state")
        yield Label(
            "Failed jobs by error code, exact (⏎ its jobs, t retry them)", classes="section"
        )
        yield KeyedTable(rows.GROUP_COLUMNS, id="groups")
        yield Label("Jobs of the group", classes="section", id="group-title")
        yield KeyedTable(rows.JOB_COLUMNS, id="group-jobs")
        yield Label(rows.retries_title(None), classes="section", id="retries-title")
        yield KeyedTable(rows.RETRY_COLUMNS, id="retries")
        yield Static("", id="retries-note", classes="empty")

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        if self.due("failures", REFRESH_S):
            self.fetch()
        elif self.figures is not None:
            self._show()

    def on_change(self, payload: dict[str, Any]) -> None:
        if self.due("failures", CHANGE_GAP_S):
            self.fetch()

    def action_reload(self) -> None:
        self.due("failures", 0, force=True)
        self.fetch()

    def fetch(self) -> None:
        key = self.query_one("#groups", KeyedTable).current_key
        self.reading = True
        self.run_worker(lambda: self._read(key), thread=True, group="failures", exit_on_error=False)

    def _read(self, key: str | None) -> None:
        try:
            figures = rows.read(self.tui.source, key)
        except AgentOSError as exc:
            self.app.call_from_thread(self._failed, exc.message)
            return
        self.app.call_from_thread(self._loaded, figures, key)

    def _failed(self, message: str) -> None:
        self.reading = False
        if self.live:
            self.query_one("#failures-state", Static).update(f"could not read: {message}")

    def _loaded(self, figures: LiveFigures, key: str | None) -> None:
        self.reading = False
        if not self.live:
            return
        self.figures, self.jobs_key = figures, key
        ids = [str(job.id) for job in self._group_jobs()]
        ids += [str(retry.job_id) for retry in figures.retries.retries] if figures.retries else []
        self.shorts = jobs_rows.unique_prefixes(ids)
        self._show()

    # -- rendering -------------------------------------------------------------------------

    def _groups(self) -> list[FailureGroup]:
        failures = self.figures.failures if self.figures else None
        groups = failures.groups if failures else []
        return [
            item
            for item in groups
            if self.matches(self.filter_text, rows.key_of(item.error_code), item.latest_error)
        ]

    def _group_jobs(self) -> list[JobRead]:
        failures = self.figures.failures if self.figures else None
        return failures.group_jobs if failures and self.jobs_key is not None else []

    def _show(self) -> None:
        figures = self.figures
        if figures is None:
            return
        self.query_one("#failures-state", Static).update(rows.summary(figures))
        self.query_one("#groups", KeyedTable).sync(
            [(rows.key_of(item.error_code), rows.group_row(item)) for item in self._groups()]
        )
        self._show_group()
        retries = figures.retries.retries if figures.retries else []
        now = self.tui.clock()
        self.query_one("#retries-title", Label).update(rows.retries_title(figures))
        self.query_one("#retries", KeyedTable).sync(
            [
                (str(r.job_id), rows.retry_row(r, self.shorts.get(str(r.job_id), ""), now))
                for r in retries
            ]
        )
        self.query_one("#retries-note", Static).update(
            "" if retries else "no stage attempt is waiting for a retry"
        )

    def selected_group(self) -> FailureGroup | None:
        key = self.query_one("#groups", KeyedTable).current_key
        return next((item for item in self._groups() if rows.key_of(item.error_code) == key), None)

    def _show_group(self) -> None:
        chosen = self.selected_group()
        key = rows.key_of(chosen.error_code) if chosen else None
        current = key is not None and key == self.jobs_key
        jobs = self._group_jobs() if current else []
        title = (
            rows.jobs_title(chosen, len(jobs))
            if current or not chosen
            else f"Jobs of {key}: reading…"
        )
        self.query_one("#group-title", Label).update(title)
        self.query_one("#group-jobs", KeyedTable).sync(
            [(str(job.id), rows.job_row(job, self.shorts.get(str(job.id), ""))) for job in jobs]
        )
        if chosen is not None and not current and not self.reading:
            self.fetch()  # the cursor is on a group whose jobs were not read yet

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "groups" and self.figures is not None:
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
        key = rows.key_of(chosen.error_code) if chosen else None
        listed = self._group_jobs() if key is not None and key == self.jobs_key else []
        if chosen is None or not listed:
            self.notify("no error code selected (or its jobs are still being read)")
            return
        bulk = [
            BulkRow(
                str(job.id),
                jobs_rows.label(job, self.shorts.get(str(job.id))),
                {"job_id": str(job.id)},
            )
            for job in listed
        ]
        noun = f"failed jobs with {key}"
        if len(listed) < chosen.jobs:  # only the listed ones: say so before the question
            noun = f"newest failed jobs with {key} (of {chosen.jobs}; the rest stay failed)"
        self.tui.run_bulk("job.retry", bulk, noun=noun, finished=self._retried)

    def _retried(self, report: BulkReport) -> None:
        self.action_reload()
