"""Analytics (5): jobs created, completed and failed per hour over the last hours (each
chart with its time axis), and per agent: its steps, failures and stage times per hour,
exact figures the server counts over every step of the last 24 h (see `agent_figures`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from agentos.errors import AgentOSError
from agentos.schemas.figures import AgentFigures
from agentos.tui import commands
from agentos.tui.screens.base import ViewScreen
from agentos.tui.widgets import agent_figures as figures
from agentos.tui.widgets.charts import TimeAxis, bar
from agentos.tui.widgets.table import Col, KeyedTable

SERIES = (("created", "cyan"), ("completed", "green"), ("failed", "red"))
HOUR_COLUMNS = (
    Col("hour (UTC)"),
    Col("created"),
    Col("completed"),
    Col("failed"),
    Col("completed per hour (bar)", min_width=100),
)
AGENTS_REFRESH_S = 60.0


class AnalyticsScreen(ViewScreen):
    VIEW = "analytics"
    TITLE = "Analytics"

    def __init__(self) -> None:
        super().__init__()
        self.agent_figures: AgentFigures | None = None
        self.agents_error: str | None = None

    def body(self) -> ComposeResult:
        yield Static("", id="totals")
        with Horizontal(id="analytics-sparks"):
            for name, _ in SERIES:
                with Vertical(classes="spark"):
                    yield Label(name, id=f"label-{name}")
                    yield Sparkline([], id=f"spark-{name}", classes=f"spark-{name}")
                    yield TimeAxis(id=f"axis-{name}")
        yield Label("Per hour", classes="section")
        yield KeyedTable(HOUR_COLUMNS, id="hours")
        yield Label("Per agent", classes="section", id="agents-title")
        yield KeyedTable(figures.COLUMNS, id="agent-figures")
        yield Static("", id="agents-note", classes="dim")

    def refresh_data(self) -> None:
        if self.due("agents", AGENTS_REFRESH_S):
            self.fetch_agents()
        if self.snap is None:
            return
        section = self.snap.document.analytics
        self.query_one("#totals", Static).update(
            f"last {section.hours} h: created {section.created}  completed {section.completed}"
            f"  failed {section.failed}"
        )
        hours = [bucket.hour for bucket in section.buckets]
        for name, _ in SERIES:
            values = [float(getattr(bucket, name)) for bucket in section.buckets]
            self.query_one(f"#spark-{name}", Sparkline).data = values or [0.0]
            self.query_one(f"#axis-{name}", TimeAxis).show(hours)
            peak = max(values, default=0)
            self.query_one(f"#label-{name}", Label).update(f"{name} / hour (peak {peak:.0f})")
        peak = max((bucket.completed for bucket in section.buckets), default=0)
        self.query_one("#hours", KeyedTable).sync(
            [
                (
                    bucket.hour.isoformat(),
                    (
                        bucket.hour.strftime("%m-%d %H:00"),
                        str(bucket.created),
                        str(bucket.completed),
                        str(bucket.failed),
                        bar(bucket.completed, peak),
                    ),
                )
                for bucket in reversed(section.buckets)
            ]
        )

    # -- per agent -------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.due("agents", 0, force=True)
        self.fetch_agents()
        self.tui.request_refresh(force=True)

    def fetch_agents(self) -> None:
        self.run_worker(self._read_agents, thread=True, group="agent-figures", exit_on_error=False)

    def _read_agents(self) -> None:
        try:
            found = figures.collect(self.tui.source)
        except AgentOSError as exc:
            self.app.call_from_thread(self._agents_failed, commands.describe_error(exc))
            return
        self.app.call_from_thread(self._agents_read, found)

    def _agents_failed(self, message: str) -> None:
        if self.live:
            self.agents_error = message
            self.query_one("#agents-note", Static).update(f"per-agent figures: {message}")

    def _agents_read(self, found: AgentFigures) -> None:
        if not self.live:
            return
        self.agent_figures, self.agents_error = found, None
        self.query_one("#agent-figures", KeyedTable).sync(figures.rows(found))
        self.query_one("#agents-title", Label).update(figures.title(found))
        self.query_one("#agents-note", Static).update(figures.NOTE)
