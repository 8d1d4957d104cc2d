"""Dashboard (1): what needs an operator now (the document's warnings, worst first),
counts, active work, throughput and error-rate sparklines with a time axis, alerts.

Wide terminals show five tiles; narrow ones (80 columns) the same figures as three
compact lines, so none of them (workers online, oldest wait, unacked errors) is cut off.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Sparkline, Static

from agentos.schemas.admin import AdminDocument, DashboardWarning, LogEntry
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.widgets import health, jobs_rows
from agentos.tui.widgets.charts import TimeAxis
from agentos.tui.widgets.table import Col, KeyedTable

ALERT_SEVERITIES = frozenset({"warning", "error", "critical"})
ALERT_COLUMNS = (Col("when"), Col("severity"), Col("source", min_width=100), Col("message"))


def alerts_of(document: AdminDocument) -> list[LogEntry]:
    """Unacknowledged warning-or-worse events, newest first, without duplicates."""
    seen: dict[str, LogEntry] = {}
    for entry in [*document.logs.recent_errors, *document.logs.recent_events]:
        if entry.severity in ALERT_SEVERITIES and not entry.acknowledged:
            seen.setdefault(str(entry.id), entry)
    return sorted(seen.values(), key=lambda entry: entry.created_at, reverse=True)


def error_rates(document: AdminDocument) -> list[float]:
    rates = []
    for bucket in document.analytics.buckets:
        finished = bucket.completed + bucket.failed
        rates.append(bucket.failed / finished if finished else 0.0)
    return rates


def warnings_text(warnings: list[DashboardWarning]) -> Text:
    """The document's warnings, worst first, one line each."""
    text = Text()
    for index, warning in enumerate(warnings):
        if index:
            text.append("\n")
        text.append(f" ⚠ {warning.code} ", style="bold white on red")
        text.append(f" {warning.message}", style="bold")
    return text


def fleet_text(document: AdminDocument) -> str:
    dash = document.dashboard
    if dash.agents_total == 0:
        return "agents none: run `agentos db migrate`"
    return f"agents {dash.agents_enabled}/{dash.agents_total}"


def compact(document: AdminDocument) -> Text:
    """The five tiles as three lines for an 80-column terminal."""
    dash, queue = document.dashboard, document.queue
    counts = dash.jobs_by_status
    paused = Text(" PAUSED", style="bold black on yellow") if dash.queue_paused else ""
    return Text.assemble(
        ("Jobs ", "bold"),
        f"{dash.total_jobs} (failed {counts.get('failed', 0)})  ",
        ("Active ", "bold"),
        f"{dash.active_jobs}",
        paused,
        f" q {queue.queued_jobs} p {queue.processing_jobs}  oldest wait ",
        health.wait_text(queue.oldest_waiting_s),
        "\n",
        ("Today ", "bold"),
        f"done {dash.completed_today} failed {dash.failed_today}  error rate ",
        health.rate_text(dash.error_rate),
        f"  unacked errors {dash.unacknowledged_errors}\n",
        ("Fleet ", "bold"),
        f"{fleet_text(document)}  workers online {dash.workers_online}  clips {dash.total_clips}",
    )


class DashboardScreen(ViewScreen):
    VIEW = "dashboard"
    TITLE = "Dashboard"

    def body(self) -> ComposeResult:
        yield Static("", id="warnings")
        with Horizontal(id="tiles"):
            for name in ("jobs", "active", "today", "health", "fleet"):
                yield Static("", id=f"tile-{name}", classes="tile")
        yield Static("", id="summary")
        with Horizontal(id="sparks"):
            with Vertical(classes="spark"):
                yield Label("throughput (completed / hour)", id="throughput-label")
                yield Sparkline([], id="throughput")
                yield TimeAxis(id="throughput-axis")
            with Vertical(classes="spark"):
                yield Label("error rate / hour", id="error-label")
                yield Sparkline([], id="error-rate")
                yield TimeAxis(id="error-axis")
        yield Label("Alerts (unacknowledged warning+; ⏎ opens the job)", classes="section")
        yield KeyedTable(ALERT_COLUMNS, id="alerts")
        yield Static("", id="empty", classes="empty")

    def refresh_data(self) -> None:
        if self.snap is None:
            return
        document = self.snap.document
        warnings = self.query_one("#warnings", Static)
        warnings.update(warnings_text(document.dashboard.warnings))
        warnings.display = bool(document.dashboard.warnings)
        self._tiles(document)
        self.query_one("#summary", Static).update(compact(document))
        buckets = document.analytics.buckets
        hours = [bucket.hour for bucket in buckets]
        completed = [float(bucket.completed) for bucket in buckets]
        self.query_one("#throughput", Sparkline).data = completed or [0.0]
        self.query_one("#error-rate", Sparkline).data = error_rates(document) or [0.0]
        self.query_one("#throughput-axis", TimeAxis).show(hours)
        self.query_one("#error-axis", TimeAxis).show(hours)
        self.query_one("#throughput-label", Label).update(
            f"completed / hour: {document.dashboard.throughput_per_hour} in the last hour"
        )
        self.query_one("#error-label", Label).update(
            Text.assemble("error rate (24 h): ", health.rate_text(document.dashboard.error_rate))
        )
        self._alerts(document)

    def _alerts(self, document: AdminDocument) -> None:
        alerts = [
            entry
            for entry in alerts_of(document)
            if self.matches(self.filter_text, entry.severity, entry.source, entry.message)
        ]
        self.query_one("#alerts", KeyedTable).sync(
            [
                (
                    str(entry.id),
                    (
                        health.when(entry.created_at),
                        Text(entry.severity, style=health.SEVERITY_STYLES[entry.severity]),
                        entry.source,
                        entry.message[:120],
                    ),
                )
                for entry in alerts
            ]
        )
        if document.dashboard.total_jobs == 0:
            empty = jobs_rows.no_jobs(document)
        else:
            empty = "no alerts" if not alerts else ""
        self.query_one("#empty", Static).update(empty)

    def _tiles(self, document: AdminDocument) -> None:
        dash, queue = document.dashboard, document.queue
        by_status = "  ".join(f"{name} {count}" for name, count in dash.jobs_by_status.items())
        self.query_one("#tile-jobs", Static).update(
            Text.assemble(("Jobs ", "bold"), f"{dash.total_jobs}\n", (by_status, "dim"))
        )
        paused = Text(" PAUSED", style="bold black on yellow") if dash.queue_paused else ""
        self.query_one("#tile-active", Static).update(
            Text.assemble(
                ("Active ", "bold"),
                f"{dash.active_jobs}",
                paused,
                f"\nqueued {queue.queued_jobs}  processing {queue.processing_jobs}\noldest wait ",
                health.wait_text(queue.oldest_waiting_s),
            )
        )
        self.query_one("#tile-today", Static).update(
            Text.assemble(
                ("Today ", "bold"),
                f"completed {dash.completed_today}  failed {dash.failed_today}\n",
                f"clips {dash.total_clips}",
            )
        )
        self.query_one("#tile-health", Static).update(
            Text.assemble(
                ("Health ", "bold"),
                "error rate ",
                health.rate_text(dash.error_rate),
                f"\nunacked errors {dash.unacknowledged_errors}",
            )
        )
        self.query_one("#tile-fleet", Static).update(
            Text.assemble(
                ("Fleet ", "bold"),
                f"{fleet_text(document)}\n",
                f"workers online {dash.workers_online}",
            )
        )

    def selection_context(self) -> dict[str, str]:
        key = self.query_one("#alerts", KeyedTable).current_key
        return {"event_id": key} if key else {}

    @on(DataTable.RowSelected, "#alerts")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_job()

    def _alert(self) -> LogEntry | None:
        key = self.query_one("#alerts", KeyedTable).current_key
        if self.snap is None or key is None:
            return None
        return next((a for a in alerts_of(self.snap.document) if str(a.id) == key), None)

    def action_open_job(self) -> None:
        alert = self._alert()
        if alert is None:
            self.notify("no alert selected")
        elif alert.job_id is None:
            self.notify("this alert is not about a job")
        else:
            self.app.push_screen(JobDetailScreen(alert.job_id))

    def action_copy_id(self) -> None:
        alert = self._alert()
        if alert is None or alert.job_id is None:
            self.notify("no alert about a job selected")
            return
        self.app.copy_to_clipboard(str(alert.job_id))
        self.notify(f"copied {alert.job_id}", title="job id")

    def action_ack(self) -> None:
        key = self.query_one("#alerts", KeyedTable).current_key
        if key is None:
            self.notify("no alert selected")
            return
        self.tui.run_admin_action("dashboard.alert.ack", {"event_id": key})

    def action_ack_all(self) -> None:
        self.tui.run_admin_action(
            "dashboard.alert.ack_all", {}, confirm="Acknowledge every unacknowledged event?"
        )

    def action_pause_queue(self) -> None:
        self.tui.run_admin_action("queue.pause")

    def action_resume_queue(self) -> None:
        self.tui.run_admin_action("queue.resume")

    def action_retry_failed(self) -> None:
        self.tui.run_admin_action(
            "queue.retry_failed",
            {},
            confirm="Queue every failed job again, each at the stage that failed?",
        )

    def action_clear_queue(self) -> None:
        queued = self.snap.document.queue.queued_jobs if self.snap else 0
        self.tui.run_admin_action(
            "queue.clear",
            {},
            confirm=f"Cancel every queued job ({queued} now)? Processing jobs are not touched.",
        )

    def on_change(self, payload: dict[str, Any]) -> None:
        return None
