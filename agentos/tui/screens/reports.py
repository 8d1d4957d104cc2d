"""Dialogs that show a long text to read: a bulk action's per-row report and a job's full
error. Both scroll (an 80x24 terminal shows a few lines at a time); Escape or Enter close."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from agentos.tui.bulk import BulkReport

OUTCOME_STYLES = {"done": "green", "refused": "bold red", "rate limited": "bold yellow"}
CLOSE: list[Binding | tuple[str, str] | tuple[str, str, str]] = [
    Binding("escape", "close", "Close"),
    Binding("enter", "close", "Close"),
    Binding("q", "close", "Close", show=False),
]


class BulkReportScreen(ModalScreen[None]):
    """What became of each row of a bulk action (refusals with their reason, rate-limited
    rows with when to try again)."""

    BINDINGS = CLOSE

    def __init__(self, report: BulkReport) -> None:
        super().__init__(id="bulk-report")
        self.report = report

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(f"{self.report.action}: {self.report.summary()}", classes="dialog-title")
            yield DataTable(id="bulk-rows", cursor_type="row", zebra_stripes=True)
            yield Static("Escape or Enter closes; the rows not done stay marked.", classes="dim")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("row", "outcome", "why")
        for label, outcome, detail in self.report.lines():
            table.add_row(label, Text(outcome, style=OUTCOME_STYLES.get(outcome, "")), detail)
        table.focus()

    @on(DataTable.RowSelected)
    def _enter(self, event: DataTable.RowSelected) -> None:
        self.dismiss(None)  # Enter on the (focused) table closes too

    def action_close(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """A long text (a job's full error) in a scrolling box; copied with `y`."""

    BINDINGS = [*CLOSE, Binding("y", "copy", "Copy")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(id="text-dialog")
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(id="text-scroll"):
                yield Static(self.text, id="text-body", markup=False)
            yield Static("↑/↓ scroll · y copies · Escape closes", classes="dim")

    def on_mount(self) -> None:
        self.query_one("#text-scroll").focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("copied to the clipboard (if the terminal allows it)")

    def action_close(self) -> None:
        self.dismiss(None)
