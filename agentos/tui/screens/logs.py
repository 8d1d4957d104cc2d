"""System Logs (4): the event stream and the audit trail, both searchable with `/`."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from agentos.errors import AgentOSError
from agentos.schemas.audit import AuditRecordRead
from agentos.tui.screens.base import ViewScreen
from agentos.tui.widgets import health
from agentos.tui.widgets.table import KeyedTable

OUTCOME_STYLES = {"success": "green", "replayed": "cyan", "failed": "bold red", "denied": "red"}
AUDIT_LIMIT = 100
# `audit.search` is itself an audited action: repeat it at most this often while the view
# refreshes (a new filter or a reconnection reads at once).
AUDIT_REFRESH_S = 10.0


class LogsScreen(ViewScreen):
    VIEW = "logs"
    TITLE = "System Logs"

    def __init__(self) -> None:
        super().__init__()
        self.audit: list[AuditRecordRead] = []

    def body(self) -> ComposeResult:
        yield Label("Events", classes="section")
        yield KeyedTable(["when", "severity", "source", "kind", "ack", "message"], id="events")
        yield Label("Audit trail", classes="section")
        yield KeyedTable(
            ["seq", "when", "actor", "source", "action", "outcome", "code", "ms"], id="audit"
        )
        yield Static("", id="empty", classes="empty")

    def refresh_data(self) -> None:
        self._events()
        if self.due("audit", AUDIT_REFRESH_S):
            self.run_worker(self._fetch_audit, thread=True, group="audit", exit_on_error=False)

    def apply_filter(self) -> None:
        """The audit trail is searched on the server: a new filter fetches at once."""
        self._events()
        self.due("audit", 0, force=True)
        self.run_worker(self._fetch_audit, thread=True, group="audit", exit_on_error=False)

    def on_change(self, payload: dict[str, Any]) -> None:
        if payload.get("kind") == "resync" and self.due("audit", 0):
            self.run_worker(self._fetch_audit, thread=True, group="audit", exit_on_error=False)

    def _fetch_audit(self) -> None:
        try:
            records = self.tui.source.audit(query=self.filter_text or None, limit=AUDIT_LIMIT)
        except AgentOSError as exc:
            self.app.call_from_thread(self.notify, exc.message, title="audit", severity="error")
            return
        self.app.call_from_thread(self._show_audit, records)

    def _events(self) -> None:
        if self.snap is None:
            return
        logs = self.snap.document.logs
        entries = {str(entry.id): entry for entry in [*logs.recent_events, *logs.recent_errors]}
        ordered = sorted(entries.values(), key=lambda entry: entry.created_at, reverse=True)
        self.query_one("#events", KeyedTable).sync(
            [
                (
                    key,
                    (
                        health.when(entry.created_at),
                        Text(entry.severity, style=health.SEVERITY_STYLES.get(entry.severity, "")),
                        entry.source,
                        entry.kind,
                        "✓" if entry.acknowledged else "",
                        entry.message[:100],
                    ),
                )
                for entry in ordered
                for key in [str(entry.id)]
                if self.matches(
                    self.filter_text, entry.severity, entry.source, entry.kind, entry.message
                )
            ]
        )
        self.query_one("#empty", Static).update(
            "no events yet — run `agentos db reset-and-seed`" if not entries else ""
        )

    def _show_audit(self, records: list[AuditRecordRead]) -> None:
        self.audit = records
        self.query_one("#audit", KeyedTable).sync(
            [
                (
                    str(record.id),
                    (
                        str(record.seq),
                        health.when(record.created_at),
                        record.actor_name,
                        record.source,
                        record.action,
                        Text(record.outcome, style=OUTCOME_STYLES.get(record.outcome, "yellow")),
                        record.error_code or "",
                        f"{record.duration_ms:.1f}" if record.duration_ms is not None else "-",
                    ),
                )
                for record in records
            ]
        )

    def selection_context(self) -> dict[str, str]:
        key = self.query_one("#events", KeyedTable).current_key
        return {"event_id": key} if key else {}

    def action_ack(self) -> None:
        key = self.query_one("#events", KeyedTable).current_key
        if key is None:
            self.notify("no event selected")
            return
        self.tui.run_admin_action("dashboard.alert.ack", {"event_id": key})

    def action_verify(self) -> None:
        self.tui.run_admin_action("audit.verify")
