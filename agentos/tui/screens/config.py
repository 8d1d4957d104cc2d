"""Configuration (6): the settings in use (secrets masked) and the runtime settings table."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Label, Static

from agentos.errors import AgentOSError
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.tui.screens.base import ViewScreen
from agentos.tui.widgets import health
from agentos.tui.widgets.table import KeyedTable

# `config.get` is an audited action: read it when the view opens, on a change, and at most
# this often otherwise.
CONFIG_REFRESH_S = 30.0
CONFIG_CHANGES = frozenset({"queue.paused", "queue.resumed", "agent.config", "resync"})


class ConfigScreen(ViewScreen):
    VIEW = "config"
    TITLE = "Configuration"

    def __init__(self) -> None:
        super().__init__()
        self.summary: list[tuple[str, str]] = []
        self.runtime: list[RuntimeSettingRead] = []
        self.runtime_error: str | None = None

    def body(self) -> ComposeResult:
        yield Label("Runtime settings (changed live by admin actions)", classes="section")
        yield KeyedTable(["key", "value", "updated by", "updated at"], id="runtime")
        yield Static("", id="runtime-note", classes="empty")
        yield Label("Configuration in use (secrets masked)", classes="section")
        yield KeyedTable(["setting", "value"], id="settings")

    def refresh_data(self) -> None:
        if self.due("config", CONFIG_REFRESH_S):
            self.run_worker(self._fetch, thread=True, group="config", exit_on_error=False)
        else:
            self._show(self.summary, self.runtime, self.runtime_error)

    def on_change(self, payload: dict[str, Any]) -> None:
        if payload.get("kind") in CONFIG_CHANGES and self.due("config", 0):
            self.run_worker(self._fetch, thread=True, group="config", exit_on_error=False)

    def _fetch(self) -> None:
        try:
            config = self.tui.source.config()
        except AgentOSError as exc:
            self.app.call_from_thread(self._show, [("error", exc.message)], [], exc.message)
            return
        self.app.call_from_thread(self._show, config.summary, config.runtime, None)

    def _show(
        self, summary: list[tuple[str, str]], runtime: list[RuntimeSettingRead], error: str | None
    ) -> None:
        self.summary, self.runtime, self.runtime_error = summary, runtime, error
        text = self.filter_text
        self.query_one("#runtime", KeyedTable).sync(
            [
                (
                    row.key,
                    (
                        row.key,
                        json.dumps(row.value)[:80],
                        row.updated_by or "-",
                        health.when(row.updated_at),
                    ),
                )
                for row in runtime
                if self.matches(text, row.key, row.value)
            ]
        )
        note = error or ("no runtime settings changed yet (defaults apply)" if not runtime else "")
        self.query_one("#runtime-note", Static).update(note)
        self.query_one("#settings", KeyedTable).sync(
            [
                (name, (name, value[:100]))
                for name, value in summary
                if self.matches(text, name, value)
            ]
        )
