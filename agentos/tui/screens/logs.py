"""System Logs (4): a live tail of the structured logs of every process, the system events
and the audit trail, each searched where it is stored.

`/` takes `level:warning source:worker trace:<id> job:<id>` and free text; the search runs
on the server (`logs.search`, `events.list`, `audit.search`), never over the few rows
already shown. These reads are audited `standard`-rate actions, so while following (f) the
first page is read again at most every `FOLLOW_S`, the audit trail every
`AUDIT_REFRESH_S`; `]` pages back through older records (and stops following). Enter on a
line about a job opens that job.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.notifications import SeverityLevel
from textual.widgets import DataTable, Label, Static

from agentos.errors import AgentOSError, InvalidError, RateLimitedError
from agentos.schemas.actions_logs import EventList, LogRecordRead, LogSearchResult
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.events import EventRead
from agentos.tui import commands
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.widgets import logs_rows as rows
from agentos.tui.widgets.table import KeyedTable

FOLLOW_S = 5.0
AUDIT_REFRESH_S = 10.0
CHANGE_GAP_S = 2.0  # a burst of live events reads the events at most this often
AUDIT_LIMIT = 100
LISTS = ("logs", "events", "audit")
PERIODS = {"logs": FOLLOW_S, "events": FOLLOW_S, "audit": AUDIT_REFRESH_S}
# Actions that change the events shown: read them again as soon as one is done.
EVENT_ACTIONS = frozenset(
    {"dashboard.alert.ack", "dashboard.alert.ack_all", "events.emit", "events.purge"}
)
EVENT_KINDS = frozenset({"event.created", "event.acknowledged", "event.purged"})
Answer = LogSearchResult | EventList | list[AuditRecordRead]


class LogsScreen(ViewScreen):
    VIEW = "logs"
    TITLE = "System Logs"
    KEY_ACTIONS = {"ack": "dashboard.alert.ack", "verify": "audit.verify"}

    def __init__(self) -> None:
        super().__init__()
        self.filters = rows.LogFilter()
        self.following = True
        self.records: list[LogRecordRead] = []
        self.cursor: str | None = None  # the last page's next_cursor: `]` reads from it
        self.events: list[EventRead] = []
        self.audit: list[AuditRecordRead] = []
        self.errors: dict[str, str] = {}
        self.loaded: set[str] = set()
        self._asked: dict[str, int] = {}

    def body(self) -> ComposeResult:
        yield Static("", id="logs-state")
        yield Label("Log records", classes="section", id="logs-title")
        yield KeyedTable(rows.LOG_COLUMNS, id="logs")
        yield Static("loading…", id="logs-note", classes="empty")
        yield Label("Events", classes="section", id="events-title")
        yield KeyedTable(rows.EVENT_COLUMNS, id="events")
        yield Static("loading…", id="events-note", classes="empty")
        yield Label("Audit trail", classes="section")
        yield KeyedTable(rows.AUDIT_COLUMNS, id="audit")
        yield Static("", id="audit-note", classes="empty")

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self._show_state()
        # Not following: what is shown stays put (only a list never read is read).
        wanted = [n for n in LISTS if self.following or n not in self.loaded]
        self.fetch([name for name in wanted if self.due(name, PERIODS[name])])

    def on_change(self, payload: dict[str, Any]) -> None:
        kind = payload.get("kind")
        if kind == "action" and payload.get("action") in EVENT_ACTIONS:
            self.reload(["events"])
        elif kind == "resync":
            self.reload(LISTS)
        elif kind in EVENT_KINDS and self.following and self.due("events", CHANGE_GAP_S):
            self.fetch(["events"])

    def apply_filter(self) -> None:
        try:
            filters = rows.parse_filter(self.filter_text)
        except InvalidError as exc:
            self._refuse_filter(exc)
            return
        if filters.job_ref is not None:  # a short job id: the server says which job
            self.run_worker(
                partial(self._resolve, filters), thread=True, group="logs-job", exit_on_error=False
            )
            return
        self._use(filters)

    def _resolve(self, filters: rows.LogFilter) -> None:
        try:
            job = self.tui.source.resolve_job(filters.job_ref or "")
        except AgentOSError as exc:
            self.app.call_from_thread(self._refuse_filter, exc)
            return
        self.app.call_from_thread(self._use, replace(filters, job_id=job, job_ref=None))

    def _refuse_filter(self, exc: AgentOSError) -> None:
        self.notify(exc.message, title="filter not applied", severity="error", markup=False)
        self.filter_text = self.filters.as_text()
        shown = f"filter: {self.filter_text}" if self.filter_text else ""
        self.query_one("#filter-state", Static).update(shown)

    def _use(self, filters: rows.LogFilter) -> None:
        if not self.live:
            return
        self.filters = filters
        self.records, self.cursor = [], None
        self._show_state()
        self.reload(LISTS)

    def reload(self, names: tuple[str, ...] | list[str]) -> None:
        """Read `names` now, whenever they were last read."""
        for name in names:
            self.due(name, 0, force=True)
        self.fetch(names)

    def fetch(self, names: tuple[str, ...] | list[str], *, older: bool = False) -> None:
        for name in names:
            self._asked[name] = token = self._asked.get(name, 0) + 1
            self.run_worker(
                partial(self._read, name, token, self._reader(name, older=older), older),
                thread=True,
                group=f"logs-{name}",
                exit_on_error=False,
            )

    def _reader(self, name: str, *, older: bool) -> Callable[[], Answer]:
        """The read for `name` as the filter is now (a later filter must not change it)."""
        source, filters = self.tui.source, self.filters
        if name == "logs":
            payload = filters.logs_payload(before=self.cursor if older else None)
            return partial(source.logs, payload)
        if name == "events":
            return partial(source.events, filters.events_payload())
        return partial(
            source.audit, query=filters.text, trace_id=filters.trace_id, limit=AUDIT_LIMIT
        )

    def _read(self, name: str, token: int, read: Callable[[], Answer], older: bool) -> None:
        try:
            answer = read()
        except AgentOSError as exc:
            self.app.call_from_thread(self._failed, name, token, exc)
            return
        self.app.call_from_thread(self._loaded, name, token, answer, older)

    def _current(self, name: str, token: int) -> bool:
        """Only the newest read of a list is shown (an older filter's answer is moot)."""
        return self.live and token == self._asked.get(name)

    def _loaded(self, name: str, token: int, answer: Answer, older: bool) -> None:
        if not self._current(name, token):
            return
        self.errors.pop(name, None)
        self.loaded.add(name)
        if isinstance(answer, LogSearchResult):
            known = {record.id for record in self.records} if older else set()
            fresh = [record for record in answer.records if record.id not in known]
            self.records = [*self.records, *fresh] if older else answer.records
            self.cursor = answer.next_cursor
            self._show_logs()
        elif isinstance(answer, EventList):
            matched = [event for event in answer.events if self.filters.event_matches(event)]
            self.events = matched[: rows.EVENT_PAGE]
            self._show_events()
        else:
            self.audit = answer
            self._show_audit()

    def _failed(self, name: str, token: int, exc: AgentOSError) -> None:
        if not self._current(name, token):
            return
        message = commands.describe_error(exc)
        if isinstance(exc, RateLimitedError):
            self.due_again_in(name, max(1.0, exc.retry_after_s), PERIODS[name])
        self.errors[name] = message
        severity: SeverityLevel = "warning" if isinstance(exc, RateLimitedError) else "error"
        self.notify(message, title=f"logs · {name}", severity=severity)
        {"logs": self._show_logs, "events": self._show_events}.get(name, self._show_audit)()

    # -- rendering -------------------------------------------------------------------------

    def _show_state(self) -> None:
        mode = (
            Text(f"● following: newest read every {FOLLOW_S:g} s", style="bold green")
            if self.following
            else Text("⏸ not following: f follows again", style="bold yellow")
        )
        mode.append(f"  ·  showing {self.filters.describe()}", style="")
        mode.append("  ·  / search  l level  ] older  ⏎ open job", style="dim")
        self.query_one("#logs-state", Static).update(mode)

    def _note(self, name: str, text: str) -> None:
        error = self.errors.get(name)
        if error:
            kept = " (showing the last read)" if name in self.loaded else ""
            text = error + kept
        elif name not in self.loaded:
            text = "loading…"
        self.query_one(f"#{name}-note", Static).update(text)

    def _show_logs(self) -> None:
        self.query_one("#logs", KeyedTable).sync(
            [(str(record.id), rows.log_row(record)) for record in self.records]
        )
        more = "; ] reads older ones" if self.cursor else ""
        self.query_one("#logs-title", Label).update(
            f"Log records ({len(self.records)} newest{more})"
        )
        empty = ""
        if not self.records:
            empty = (
                f"no log records match {self.filters.describe()}"
                if self.filters.as_text()
                else "no log records yet"
            )
        self._note("logs", empty)

    def _show_events(self) -> None:
        self.query_one("#events", KeyedTable).sync(
            [(str(event.id), rows.event_row(event)) for event in self.events]
        )
        self.query_one("#events-title", Label).update(f"Events ({len(self.events)} newest)")
        notes = []
        if not self.events:
            notes.append(
                f"no events match {self.filters.describe()}"
                if self.filters.as_text()
                else "no events yet"
            )
        if self.filters.events_matched_here:
            notes.append(
                f"level and text are matched within the newest {rows.EVENT_WINDOW} events "
                "with this source, trace and job (events.list has no text search)"
            )
        self._note("events", " — ".join(notes))

    def _show_audit(self) -> None:
        self.query_one("#audit", KeyedTable).sync(
            [(str(record.id), rows.audit_row(record)) for record in self.audit]
        )
        self._note("audit", "" if self.audit else "no audit records match")

    # -- selection -------------------------------------------------------------------------

    def _job_of(self, name: str, key: str | None) -> uuid.UUID | None:
        if name == "logs":
            return next((r.job_id for r in self.records if str(r.id) == key), None)
        if name == "events":
            return next((e.job_id for e in self.events if str(e.id) == key), None)
        return next((rows.audit_job(r) for r in self.audit if str(r.id) == key), None)

    def _focused_table(self) -> KeyedTable:
        focused = self.focused
        if isinstance(focused, KeyedTable) and focused.id in LISTS:
            return focused
        return self.query_one("#logs", KeyedTable)

    def selection_context(self) -> dict[str, str]:
        context = {}
        event = self.query_one("#events", KeyedTable).current_key
        if event:
            context["event_id"] = event
        table = self._focused_table()
        job = self._job_of(table.id or "", table.current_key)
        if job is not None:
            context["job_id"] = str(job)
        return context

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_job(event.data_table.id or "")

    def open_job(self, name: str) -> None:
        table = self.query_one(f"#{name}", KeyedTable)
        if table.current_key is None:
            self.notify("nothing selected")
            return
        job = self._job_of(name, table.current_key)
        if job is None:
            self.notify("this line is not about a job")
            return
        self.app.push_screen(JobDetailScreen(job))

    # -- keys ------------------------------------------------------------------------------

    def action_open(self) -> None:
        self.open_job(self._focused_table().id or "logs")

    def action_copy_id(self) -> None:
        table = self._focused_table()
        job = self._job_of(table.id or "", table.current_key)
        if job is None:
            self.notify("this line is not about a job")
            return
        self.app.copy_to_clipboard(str(job))
        self.notify(f"copied {job}", title="job id")

    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:  # back to the newest page, and keep it fresh
            self.records, self.cursor = [], None
            self.reload(LISTS)
        self.notify("following the newest records" if self.following else "not following")
        self._show_state()

    def action_older(self) -> None:
        if self.cursor is None:
            self.notify("no older records match" if "logs" in self.loaded else "loading…")
            return
        self.following = False
        self._show_state()
        self.fetch(["logs"], older=True)

    def action_level(self) -> None:
        self.set_filter(self.filters.with_level(rows.next_level(self.filters.level)).as_text())

    def action_reload(self) -> None:
        self.records, self.cursor = [], None
        self.reload(LISTS)

    def action_ack(self) -> None:
        key = self.query_one("#events", KeyedTable).current_key
        if key is None:
            self.notify("no event selected")
            return
        self.tui.run_admin_action("dashboard.alert.ack", {"event_id": key})

    def action_verify(self) -> None:
        self.tui.run_admin_action("audit.verify")
