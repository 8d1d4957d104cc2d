"""`agentos tui`: the live operator dashboard.

The app owns the data source, the latest admin document and the live connection; views
(one Textual mode each, number keys 1-9) render what the app holds and ask it to run
actions. Every fetch runs in a thread worker; every action goes through the admin action
pipeline (`Source.run`), with a confirmation dialog for dangerous ones.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding

from agentos.errors import AgentOSError
from agentos.schemas.actions import ActionInfo
from agentos.tui import commands
from agentos.tui.actions import ActionRunner
from agentos.tui.keymap import NOTES, help_rows
from agentos.tui.screens.agents import AgentsScreen
from agentos.tui.screens.analytics import AnalyticsScreen
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.config import ConfigScreen
from agentos.tui.screens.dashboard import DashboardScreen
from agentos.tui.screens.failures import FailuresScreen
from agentos.tui.screens.jobs import JobsScreen
from agentos.tui.screens.logs import LogsScreen
from agentos.tui.screens.managers import ManagersScreen
from agentos.tui.screens.modals import HelpScreen, PromptScreen
from agentos.tui.screens.system import SystemScreen
from agentos.tui.session import WatchedSource
from agentos.tui.source import Snapshot, Source
from agentos.tui.widgets.header import HeaderState

CHANGE_DEBOUNCE_S = 0.1
MIN_INTERVAL_S = 0.5


def maintenance_of(snapshot: Snapshot) -> str | None:
    """The maintenance message for the header while maintenance mode is on."""
    state = snapshot.document.dashboard.maintenance
    return (state.message or "on") if state.enabled else None


class AgentOSApp(ActionRunner):
    CSS_PATH = "app.tcss"
    TITLE = "AgentOS"
    MODES: ClassVar[dict[str, Any]] = {
        "dashboard": DashboardScreen,
        "jobs": JobsScreen,
        "agents": AgentsScreen,
        "logs": LogsScreen,
        "analytics": AnalyticsScreen,
        "config": ConfigScreen,
        "system": SystemScreen,
        "managers": ManagersScreen,
        "failures": FailuresScreen,
    }
    # Narrow terminals (80x24) get compact tiles, fewer columns and a compact footer.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    COMMANDS = App.COMMANDS | {commands.ViewCommands, commands.ActionCommands}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("ctrl+c", "quit", "Quit", show=False)
    ]

    def __init__(
        self,
        source: Source,
        *,
        read_only: bool = False,
        refresh_s: float = 2.0,
        live: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        # Every call is watched: a refused login shows in the header until one succeeds.
        self.source: Source = WatchedSource(source, self._session_from_thread)
        self.read_only = read_only
        self.live = live
        self.clock = clock
        self.snapshot: Snapshot | None = None
        self.fetched_at: float | None = None
        self.catalog: list[ActionInfo] = []
        self.header = HeaderState(backend=source.label, interval_s=refresh_s, read_only=read_only)
        self._fetching = False
        self._fetch_again = False
        self._change_pending = False
        self._refresh_timer: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.switch_mode("dashboard")
        self._schedule_refresh()
        self.set_interval(1.0, self.update_header)
        self.request_refresh()
        self.run_worker(self._load_catalog, thread=True, group="catalog", exit_on_error=False)
        if self.live:
            # Subscribing may block (the bus, a TCP connect): never on the UI thread.
            self.run_worker(self._start_live, thread=True, group="live", exit_on_error=False)
        else:
            self.header.connection, self.header.detail = "live", "polling"

    def _start_live(self) -> None:
        try:
            self.source.start_live(self._event_from_thread, self._state_from_thread)
        except AgentOSError as exc:
            self._state_from_thread("disconnected", exc.message)

    def on_unmount(self) -> None:
        self.source.close()

    def _schedule_refresh(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        self._refresh_timer = self.set_interval(self.header.interval_s, self.request_refresh)

    # -- data ------------------------------------------------------------------------------

    def request_refresh(self, *, force: bool = False) -> None:
        """Fetch the document in a thread; a request during a fetch runs once after it."""
        if self.header.paused and not force:
            return
        if self._fetching:
            self._fetch_again = True
            return
        self._fetching = True
        self.run_worker(self._fetch, thread=True, group="snapshot", exit_on_error=False)

    def _fetch(self) -> None:
        try:
            snapshot = self.source.snapshot()
        except AgentOSError as exc:
            self.call_from_thread(self._fetched, None, exc.message)
        else:
            self.call_from_thread(self._fetched, snapshot, None)

    def _fetched(self, snapshot: Snapshot | None, error: str | None) -> None:
        self._fetching = False
        self.header.error = error
        if snapshot is not None:
            self.snapshot = snapshot
            self.fetched_at = self.clock()
            self.header.deployment = snapshot.document.deployment
            self.header.maintenance = maintenance_of(snapshot)
            screen = self.view_screen()
            if screen is not None and screen.live:
                screen.refresh_data()
        self.update_header()
        if self._fetch_again:
            self._fetch_again = False
            self.request_refresh()

    def _load_catalog(self) -> None:
        try:
            catalog = self.source.catalog()
        except AgentOSError as exc:
            self.call_from_thread(self.notify, exc.message, title="catalog", severity="warning")
            return
        self.call_from_thread(self._catalog_loaded, catalog)

    def _catalog_loaded(self, catalog: list[ActionInfo]) -> None:
        self.catalog = catalog
        self.screen.refresh_bindings()

    def view_screen(self) -> ViewScreen | None:
        """The view on top of the stack, under any dialog: a change made from a dialog (a
        form, the secret it answered with) must still reach the view it changes."""
        return next(
            (screen for screen in reversed(self.screen_stack) if isinstance(screen, ViewScreen)),
            None,
        )

    def has_action(self, name: str) -> bool:
        return any(info.name == name for info in self.catalog)

    def data_age(self) -> float | None:
        if self.snapshot is None:
            return None
        return max(0.0, self.clock() - self.snapshot.cache.built_at.timestamp())

    def update_header(self) -> None:
        self.header.age_s = self.data_age()
        if self.fetched_at is not None:
            self.header.checked_s = max(0.0, self.clock() - self.fetched_at)
        screen = self.view_screen()
        if screen is not None:
            self.header.view = screen.TITLE
            screen.show_header(self.header)

    # -- live ------------------------------------------------------------------------------

    def _event_from_thread(self, payload: dict[str, Any]) -> None:
        self._from_thread(self._on_change, payload)

    def _state_from_thread(self, state: str, detail: str) -> None:
        self._from_thread(self._on_state, state, detail)

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        # RuntimeError: the app is not running (yet, or any more); the event is moot.
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(callback, *args)

    def _session_from_thread(self, problem: str | None) -> None:
        self._from_thread(self._on_session, problem)

    def _on_session(self, problem: str | None) -> None:
        self.header.session = problem
        self.update_header()
        if problem is None and not self.catalog:  # refused before: the keys need it
            self.run_worker(self._load_catalog, thread=True, group="catalog", exit_on_error=False)

    def _on_state(self, state: str, detail: str) -> None:
        reconnected = state == "live" and self.header.connection != "live"
        self.header.connection, self.header.detail = state, detail
        self.update_header()
        if reconnected:
            self.request_refresh()

    def _on_change(self, payload: dict[str, Any]) -> None:
        if self.header.paused:
            return
        screen = self.view_screen()
        if screen is not None and screen.live:
            screen.on_change(payload)
        if not self._change_pending:
            self._change_pending = True
            self.set_timer(CHANGE_DEBOUNCE_S, self._changed)

    def _changed(self) -> None:
        self._change_pending = False
        self.request_refresh()

    # -- actions ---------------------------------------------------------------------------

    def changed_by_action(self, name: str) -> None:
        self._on_change({"kind": "action", "action": name})

    # -- keys ------------------------------------------------------------------------------

    def action_view(self, name: str) -> None:
        if name in self.MODES:
            self.switch_mode(name)
            self.update_header()

    def action_help(self) -> None:
        screen = self.screen
        view = screen.VIEW if isinstance(screen, ViewScreen) else "dashboard"
        title = screen.TITLE if isinstance(screen, ViewScreen) else "AgentOS"
        notes = [
            *NOTES.get(view, ()),  # the view keys 1-9 are rows of the table
            "ctrl+p: command palette (views and every catalog action)",
            ": a view, `refresh N`, `pause`, or an action run at once: `job.cancel be1ce8cf`, "
            "`ACTION key=value ...` (a form asks only for what is missing)",
        ]
        if self.read_only:
            notes.append("read-only: actions are hidden and refused")
        self.push_screen(HelpScreen(title, help_rows(view, read_only=self.read_only), notes))

    def action_toggle_pause(self) -> None:
        self.header.paused = not self.header.paused
        self.notify(
            "live refresh paused: what is shown stays put (p resumes)"
            if self.header.paused
            else "live refresh resumed"
        )
        if not self.header.paused:
            self.request_refresh()
        self.update_header()
        self.screen.refresh_bindings()  # the footer offers the other one of Pause/Resume

    def action_pause_live(self) -> None:
        if not self.header.paused:
            self.action_toggle_pause()

    def action_resume_live(self) -> None:
        if self.header.paused:
            self.action_toggle_pause()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause_live":
            return not self.header.paused
        if action == "resume_live":
            return self.header.paused
        return True

    def action_set_interval(self) -> None:
        self.push_screen(
            PromptScreen(
                "Refresh interval (seconds)", value=f"{self.header.interval_s:g}", placeholder="2"
            ),
            self.set_refresh_interval,
        )

    def set_refresh_interval(self, value: str | None) -> None:
        if value is None:
            return
        try:
            seconds = float(value)
        except ValueError:
            self.notify(f"not a number: {value!r}", severity="error")
            return
        self.header.interval_s = max(MIN_INTERVAL_S, seconds)
        self._schedule_refresh()
        self.update_header()

    def action_command_line(self) -> None:
        commands.open_command_line(self)
