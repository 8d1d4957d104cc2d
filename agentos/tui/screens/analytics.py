"""Analytics (5): jobs created, completed and failed per hour over the last hours."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Sparkline, Static

from agentos.tui.screens.base import ViewScreen
from agentos.tui.widgets.table import KeyedTable

SERIES = (("created", "cyan"), ("completed", "green"), ("failed", "red"))


def bar(value: int, peak: int, width: int = 30) -> str:
    return "█" * (round(width * value / peak) if peak else 0)


class AnalyticsScreen(ViewScreen):
    VIEW = "analytics"
    TITLE = "Analytics"

    def body(self) -> ComposeResult:
        yield Static("", id="totals")
        for name, _ in SERIES:
            with Vertical(classes="spark"):
                yield Label(name, id=f"label-{name}")
                yield Sparkline([], id=f"spark-{name}", classes=f"spark-{name}")
        yield Label("Per hour", classes="section")
        yield KeyedTable(["hour (UTC)", "created", "completed", "failed", "chart"], id="hours")

    def refresh_data(self) -> None:
        if self.snap is None:
            return
        section = self.snap.document.analytics
        self.query_one("#totals", Static).update(
            f"last {section.hours} h: created {section.created}  completed {section.completed}"
            f"  failed {section.failed}"
        )
        for name, _ in SERIES:
            values = [float(getattr(bucket, name)) for bucket in section.buckets]
            self.query_one(f"#spark-{name}", Sparkline).data = values or [0.0]
            peak = max(values, default=0)
            self.query_one(f"#label-{name}", Label).update(f"{name} per hour (peak {peak:.0f})")
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
