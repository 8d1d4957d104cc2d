"""Configuration (6): every setting in use with its source (default, environment, runtime),
secrets masked; the settable ones (✎) are edited (`config.set`, validated there: a refused
value is shown under the field and the form stays open), reset (`config.reset`, asks
first) and their history read (`config.history`). Works the same locally and remotely.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Label, Static

from agentos.errors import AgentOSError, RateLimitedError
from agentos.schemas.actions_config import ConfigHistoryResult
from agentos.schemas.actions_reads import EffectiveSetting
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.tui import commands
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.forms import FormField, FormScreen
from agentos.tui.source import ConfigView
from agentos.tui.widgets import config_rows as rows
from agentos.tui.widgets.table import KeyedTable

# `config.get` is an audited action: read it when the view opens, after a change, on ^r,
# and at most this often otherwise.
CONFIG_REFRESH_S = 30.0
CHANGE_GAP_S = 2.0  # a change announced live after this view's own (already read) is moot
CONFIG_CHANGES = frozenset(
    {"config.changed", "queue.paused", "queue.resumed", "agent.config", "resync"}
)
CONFIG_ACTIONS = frozenset({"config.set", "config.reset", "config.import", "ratelimit.policy.set"})
HISTORY_LIMIT = 50


class ConfigScreen(ViewScreen):
    VIEW = "config"
    TITLE = "Configuration"
    KEY_ACTIONS = {"edit": "config.set", "reset": "config.reset", "history": "config.history"}

    def __init__(self) -> None:
        super().__init__()
        self.config: ConfigView | None = None
        self.error: str | None = None
        self.history_key: str | None = None

    def body(self) -> ComposeResult:
        yield Label(
            f"Settings in use ({rows.SETTABLE} settable live: e edits, X resets, h history; "
            "secrets masked)",
            classes="section",
        )
        yield KeyedTable(rows.SETTING_COLUMNS, id="settings")
        yield Static("loading…", id="settings-note", classes="empty")
        history = (  # shown by h
            Label("History", classes="section", id="history-title"),
            KeyedTable(rows.HISTORY_COLUMNS, id="history", cursor_type="none"),
            Static("", id="history-note", classes="empty"),
        )
        for widget in history:
            widget.display = False
            yield widget
        yield Label("Runtime settings table (changed live by admin actions)", classes="section")
        yield KeyedTable(rows.RUNTIME_COLUMNS, id="runtime")
        yield Static("", id="runtime-note", classes="empty")

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        if self.due("config", CONFIG_REFRESH_S):
            self.fetch()

    def on_change(self, payload: dict[str, Any]) -> None:
        kind = payload.get("kind")
        if kind == "action" and payload.get("action") in CONFIG_ACTIONS:
            self.reload()
            if self.history_key is not None:
                self._fetch_history(self.history_key)
        elif kind in CONFIG_CHANGES and self.due("config", CHANGE_GAP_S):
            self.fetch()

    def apply_filter(self) -> None:
        self._show()

    def reload(self) -> None:
        self.due("config", 0, force=True)
        self.fetch()

    def fetch(self) -> None:
        self.run_worker(self._fetch, thread=True, group="config", exit_on_error=False)

    def _fetch(self) -> None:
        try:
            config = self.tui.source.config()
        except AgentOSError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._loaded, config)

    def _loaded(self, config: ConfigView) -> None:
        if self.live:
            self.config, self.error = config, None
            self._show()

    def _failed(self, exc: AgentOSError) -> None:
        if not self.live:
            return
        self.error = commands.describe_error(exc)
        if isinstance(exc, RateLimitedError):
            self.due_again_in("config", max(1.0, exc.retry_after_s), CONFIG_REFRESH_S)
        self._show()

    # -- rendering -------------------------------------------------------------------------

    def _show(self) -> None:
        config, text = self.config, self.filter_text
        note = "loading…" if config is None else ""
        if self.error:
            note = self.error + (" (showing the last values)" if config is not None else "")
        self.query_one("#settings-note", Static).update(note)
        if config is None:
            return
        settings = [
            row
            for row in rows.setting_rows(config.summary, config.settings)
            if self.matches(text, row[0], row[1][1])
        ]
        self.query_one("#settings", KeyedTable).sync(settings)
        runtime = [row for row in config.runtime if self.matches(text, row.key, row.value)]
        self._show_runtime(runtime)

    def _show_runtime(self, runtime: list[RuntimeSettingRead]) -> None:
        self.query_one("#runtime", KeyedTable).sync(
            [(row.key, rows.runtime_row(row)) for row in runtime]
        )
        empty = "no runtime settings changed yet (defaults apply)" if not runtime else ""
        self.query_one("#runtime-note", Static).update(empty)

    # -- selection -------------------------------------------------------------------------

    def _setting(self) -> EffectiveSetting | None:
        name = self.query_one("#settings", KeyedTable).current_key
        settings = {item.name: item for item in self.config.settings} if self.config else {}
        found = settings.get(name or "")
        if found is None:
            self.notify("no setting selected" if not name else f"{name} is not a setting")
        return found

    def _settable(self) -> EffectiveSetting | None:
        item = self._setting()
        if item is not None and not item.settable:
            self.notify(
                f"{item.name} cannot be changed at runtime: set AGENTOS_{item.name.upper()} in "
                "the environment and restart",
                severity="warning",
            )
            return None
        return item

    def selection_context(self) -> dict[str, str]:
        key = self.query_one("#settings", KeyedTable).current_key
        return {"key": key} if key else {}

    # -- keys ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.reload()

    def action_edit(self) -> None:
        item = self._settable()
        if item is None or not self.require_write():
            return
        current = item.value
        form = FormScreen(
            f"Set {item.name} (config.set)",
            [
                FormField(
                    "value", "value", value=rows.edit_text(current), placeholder="JSON or text"
                )
            ],
            action="config.set",
            build=lambda raw: {"key": item.name, "value": rows.typed_value(raw["value"], current)},
            note=f"In force: {rows.shown(current, 60)} (from the {item.source}). Validated as "
            "the setting's type and bounds; applied live in every process.",
            error_field="value",
        )
        self.app.push_screen(form)

    def action_reset(self) -> None:
        item = self._settable()
        if item is None:
            return
        if item.source != "runtime":
            self.notify(f"{item.name} has no runtime value: it comes from the {item.source}")
            return
        self.tui.run_admin_action(
            "config.reset", {"key": item.name}, confirm=rows.reset_question(item)
        )

    def action_history(self) -> None:
        item = self._setting()
        if item is not None:
            self.history_key = item.name
            for selector in ("#history-title", "#history", "#history-note"):
                self.query_one(selector).display = True
            self.query_one("#history-title", Label).update(f"History of {item.name}")
            self.query_one("#history-note", Static).update("loading…")
            self._fetch_history(item.name)

    def _fetch_history(self, key: str) -> None:
        def read() -> None:
            try:
                history = self.tui.source.config_history(key, limit=HISTORY_LIMIT)
            except AgentOSError as exc:
                message = commands.describe_error(exc)
                self.app.call_from_thread(self._history_failed, key, message)
                return
            self.app.call_from_thread(self._show_history, key, history)

        self.run_worker(read, thread=True, group="config-history", exit_on_error=False)

    def _history_failed(self, key: str, message: str) -> None:
        if self.live and key == self.history_key:
            self.query_one("#history-note", Static).update(message)

    def _show_history(self, key: str, history: ConfigHistoryResult) -> None:
        if not self.live or key != self.history_key:
            return
        entries = history.entries
        self.query_one("#history", KeyedTable).sync(
            [(str(index), rows.history_row(entry)) for index, entry in enumerate(entries)]
        )
        self.query_one("#history-title", Label).update(f"History of {key} ({len(entries)})")
        note = f"no changes of {key} recorded (it was never set at runtime)" if not entries else ""
        self.query_one("#history-note", Static).update(note)
