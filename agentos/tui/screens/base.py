"""What every view shares: the status header, the footer from the key map, `/` filtering."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from agentos.tui.keymap import bindings_for, write_actions
from agentos.tui.widgets.header import WIDE, HeaderState, StatusHeader
from agentos.tui.widgets.table import KeyedTable

if TYPE_CHECKING:
    from agentos.tui.app import AgentOSApp
    from agentos.tui.source import Snapshot


def now() -> float:
    """The clock `ViewScreen.due` runs on (monotonic; tests move it)."""
    return time.monotonic()


class FilterInput(Input):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "close", "Close filter")
    ]

    def action_close(self) -> None:
        self.display = False
        screen = self.screen
        if isinstance(screen, ViewScreen):
            screen.focus_main()


class ViewScreen(Screen[None]):
    VIEW: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    # Each key's admin action: a key is offered only when the server's catalog has it.
    KEY_ACTIONS: ClassVar[dict[str, str]] = {}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Textual merges BINDINGS when the class is created: set them from the key map first.
        view = cls.__dict__.get("VIEW")
        if view:
            cls.BINDINGS = list(bindings_for(view))
        super().__init_subclass__(**kwargs)

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.ready = False
        self._fetched_at: dict[str, float] = {}

    def due(self, what: str, every_s: float, *, force: bool = False) -> bool:
        """Whether `what` should be fetched again now (at most once per `every_s`). Reads
        that go through the action pipeline are audited and rate-limited, so a view does not
        repeat them on every refresh of the document."""
        moment = now()
        if not force and moment - self._fetched_at.get(what, float("-inf")) < every_s:
            return False
        self._fetched_at[what] = moment
        return True

    def due_again_in(self, what: str, seconds: float, every_s: float) -> None:
        """Make `what` (read at most once per `every_s`) due `seconds` from now, e.g. when
        a 429 says when to come back."""
        self._fetched_at[what] = now() - every_s + max(0.0, seconds)

    @property
    def tui(self) -> AgentOSApp:
        return cast("AgentOSApp", self.app)

    @property
    def snap(self) -> Snapshot | None:
        return self.tui.snapshot

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        yield from self.body()
        yield Static("", id="filter-state")
        yield FilterInput(placeholder="filter (Enter applies, Escape closes)", id="filter")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(Footer).compact = self.app.size.width < WIDE
        self.ready = True
        self.tui.update_header()
        self.refresh_data()

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(Footer).compact = event.size.width < WIDE
        if self.ready:
            self.tui.update_header()

    def on_screen_resume(self) -> None:
        if self.ready:
            self.tui.update_header()
            self.refresh_data()

    @property
    def live(self) -> bool:
        """Mounted and the app not shutting down (timers and workers outlive the widgets)."""
        return self.ready and self.app.is_running

    def show_header(self, state: HeaderState) -> None:
        if self.live:
            self.query_one(StatusHeader).show(state)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        wanted = self.KEY_ACTIONS.get(action)
        if wanted is not None and not self.tui.has_action(wanted):
            return False
        return not (self.tui.read_only and action in write_actions(self.VIEW))

    # -- hooks for views ---------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Render the app's current snapshot (and start any fetch this view needs)."""

    def on_change(self, payload: dict[str, Any]) -> None:
        """A live change event arrived (the app refreshes the snapshot itself)."""

    def apply_filter(self) -> None:
        self.refresh_data()

    def selection_context(self) -> dict[str, str]:
        """Payload fields the selected row fills in (job_id, agent_id, event_id)."""
        return {}

    # -- filter ----------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = self.filter_text
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.set_filter(event.value.strip())

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        box = self.query_one("#filter", Input)
        box.display = False
        self.query_one("#filter-state", Static).update(f"filter: {text}" if text else "")
        self.focus_main()
        self.apply_filter()
        for table in self.query(KeyedTable):  # a new filter starts at the first row
            table.move_cursor(row=0, animate=False)

    def focus_main(self) -> None:
        tables = self.query("DataTable")
        if tables:
            tables.first().focus()

    def require_write(self) -> bool:
        if self.tui.read_only:
            self.notify("read-only mode: actions are disabled", severity="warning")
            return False
        return True

    @staticmethod
    def matches(text: str, *cells: object) -> bool:
        needle = text.lower()
        return not needle or any(needle in str(cell).lower() for cell in cells)
