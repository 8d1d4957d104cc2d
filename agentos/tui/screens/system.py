"""System (7): maintenance mode, backups, circuit breakers and storage, and their actions.

Maintenance comes with the admin document (live, like every other view's figures). The
three lists come from admin actions of rate class `critical` (5 a minute per user and
action, each one audited), so they are read when the view opens, after an action that
changes them, on ^r, and otherwise at most every `SYSTEM_REFRESH_S`. A refusal (429) is
shown under its table, the last list stays, and the next read waits for its Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.notifications import SeverityLevel
from textual.widgets import Label, Static

from agentos.errors import AgentOSError, RateLimitedError
from agentos.schemas.actions import ActionInfo, ActionResponse, BreakerRead
from agentos.schemas.system import (
    BackupList,
    BackupRead,
    BackupVerifyResult,
    BreakerList,
    StorageCleanupResult,
    StorageUsage,
)
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.modals import ask_whole_number
from agentos.tui.widgets import health, system_rows
from agentos.tui.widgets.table import KeyedTable

SYSTEM_REFRESH_S = 30.0
# A change announced live (another operator's action) reads a list again only if it was
# not read this recently: no faster than the rate limit allows, and not twice for this
# view's own action (read when it was done, then announced).
CHANGE_GAP_S = 12.0
LISTS = ("backups", "breakers", "storage")
# The lists an action changes: read again as soon as it is done.
CHANGES: dict[str, tuple[str, ...]] = {
    "system.backup": ("backups", "storage"),
    "system.backup.verify": ("backups",),
    "system.backup.delete": ("backups", "storage"),
    "system.restore": LISTS,
    "system.circuit.trip": ("breakers",),
    "system.circuit.reset": ("breakers",),
    "system.storage.cleanup": ("storage",),
    "system.db.reset_and_seed": LISTS,
}
EVENTS: dict[str, tuple[str, ...]] = {
    "system.breaker_forced": ("breakers",),
    "system.restored": LISTS,
}
# Each key's admin action: a key is offered only when the server's catalog has it.
KEY_ACTIONS = {
    "backup": "system.backup",
    "verify": "system.backup.verify",
    "restore": "system.restore",
    "delete_backup": "system.backup.delete",
    "maintenance_on": "system.maintenance.enable",
    "maintenance_off": "system.maintenance.disable",
    "trip": "system.circuit.trip",
    "reset_breaker": "system.circuit.reset",
    "cleanup": "system.storage.cleanup",
}
DEFAULT_CLEANUP_DAYS = "7"

Listing = BackupList | BreakerList | StorageUsage


class SystemScreen(ViewScreen):
    VIEW = "system"
    TITLE = "System"
    KEY_ACTIONS = KEY_ACTIONS

    def __init__(self) -> None:
        super().__init__()
        self.backups: BackupList | None = None
        self.breakers: BreakerList | None = None
        self.storage: StorageUsage | None = None
        self.errors: dict[str, str] = {}
        self._asked: dict[str, int] = {}
        self._shown: dict[str, int] = {}

    def body(self) -> ComposeResult:
        yield Static("", id="maintenance")
        yield Label("Backups", classes="section", id="backups-title")
        yield KeyedTable(system_rows.BACKUP_COLUMNS, id="backups")
        yield Static("loading…", id="backups-note", classes="empty")
        yield Label("Circuit breakers", classes="section")
        yield KeyedTable(system_rows.BREAKER_COLUMNS, id="breakers")
        yield Static("loading…", id="breakers-note", classes="empty")
        yield Label("Storage", classes="section")
        yield KeyedTable(system_rows.STORAGE_COLUMNS, id="storage", cursor_type="none")
        yield Static("loading…", id="storage-note")

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self._show_maintenance()
        self._show_backups()  # ages move on
        self.fetch([name for name in LISTS if self.due(name, SYSTEM_REFRESH_S)])

    def on_change(self, payload: dict[str, Any]) -> None:
        kind = payload.get("kind")
        if kind == "action":
            self.reload(CHANGES.get(str(payload.get("action")), ()))
        elif kind in EVENTS:
            self.fetch([name for name in EVENTS[str(kind)] if self.due(name, CHANGE_GAP_S)])

    def apply_filter(self) -> None:
        self._show_backups()
        self._show_breakers()

    def reload(self, names: tuple[str, ...] | list[str]) -> None:
        """Read `names` now, whenever they were last read."""
        for name in names:
            self.due(name, 0, force=True)
        self.fetch(names)

    def fetch(self, names: tuple[str, ...] | list[str]) -> None:
        for name in names:
            self._asked[name] = token = self._asked.get(name, 0) + 1
            self.run_worker(
                partial(self._read, name, token),
                thread=True,
                group=f"system-{name}",
                exit_on_error=False,
            )

    def _read(self, name: str, token: int) -> None:
        source = self.tui.source
        readers: dict[str, Callable[[], Listing]] = {
            "backups": source.backups,
            "breakers": source.breakers,
            "storage": source.storage,
        }
        try:
            listing = readers[name]()
        except AgentOSError as exc:
            self.app.call_from_thread(self._failed, name, token, exc)
            return
        self.app.call_from_thread(self._loaded, name, token, listing)

    def _current(self, name: str, token: int) -> bool:
        """Whether this answer is the newest asked for (an older one may come back last)
        and there is still a view to show it in."""
        if not self.live or token < self._shown.get(name, 0):
            return False
        self._shown[name] = token
        return True

    def _loaded(self, name: str, token: int, listing: Listing) -> None:
        if not self._current(name, token):
            return
        self.errors.pop(name, None)
        if isinstance(listing, BackupList):
            self.backups = listing
        elif isinstance(listing, BreakerList):
            self.breakers = listing
        else:
            self.storage = listing
        self._show(name)

    def _failed(self, name: str, token: int, exc: AgentOSError) -> None:
        if not self._current(name, token):
            return
        message = f"{exc.message} ({exc.code})"
        if isinstance(exc, RateLimitedError):
            wait = max(1.0, exc.retry_after_s)
            message = f"rate limited: {exc.message}; read again in {wait:.0f} s"
            self.due_again_in(name, wait, SYSTEM_REFRESH_S)
        self.errors[name] = message
        severity: SeverityLevel = "warning" if isinstance(exc, RateLimitedError) else "error"
        self.notify(message, title=f"system · {name}", severity=severity)
        self._show(name)

    # -- rendering -------------------------------------------------------------------------

    def _show(self, name: str) -> None:
        {"backups": self._show_backups, "breakers": self._show_breakers}.get(
            name, self._show_storage
        )()

    def _note(self, name: str, empty: str, *, loaded: bool, count: int) -> None:
        error = self.errors.get(name)
        if error:
            note = error + (" (showing the last list)" if loaded else "")
        elif not loaded:
            note = "loading…"
        else:
            note = empty if count == 0 else ""
        self.query_one(f"#{name}-note", Static).update(note)

    def _show_maintenance(self) -> None:
        if self.snap is not None:
            state = self.snap.document.dashboard.maintenance
            self.query_one("#maintenance", Static).update(system_rows.maintenance_line(state))

    def _show_backups(self) -> None:
        backups = self.backups.backups if self.backups else []
        now, text = self.tui.clock(), self.filter_text
        shown = [
            backup
            for backup in backups
            if self.matches(text, backup.label, backup.id, backup.kind, backup.sha256)
        ]
        self.query_one("#backups", KeyedTable).sync(
            [(str(backup.id), system_rows.backup_row(backup, now)) for backup in shown]
        )
        if self.backups is not None:
            self.query_one("#backups-title", Label).update(
                f"Backups ({len(backups)}, {health.size(self.backups.total_bytes)} "
                f"in {self.backups.directory})"
            )
        empty = "no backups yet — b takes one" if not text else f"no backup matches {text!r}"
        self._note("backups", empty, loaded=self.backups is not None, count=len(shown))

    def _show_breakers(self) -> None:
        breakers = self.breakers.breakers if self.breakers else []
        shown = [
            breaker
            for breaker in breakers
            if self.matches(self.filter_text, breaker.name, breaker.state)
        ]
        self.query_one("#breakers", KeyedTable).sync(
            [(breaker.name, system_rows.breaker_row(breaker)) for breaker in shown]
        )
        self._note(
            "breakers", "no circuit breakers", loaded=self.breakers is not None, count=len(shown)
        )

    def _show_storage(self) -> None:
        if self.storage is not None:
            self.query_one("#storage", KeyedTable).sync(system_rows.storage_rows(self.storage))
        error = self.errors.get("storage")
        note: Text | str = error or "loading…"
        if error is None and self.storage is not None:
            note = system_rows.storage_line(self.storage)
        self.query_one("#storage-note", Static).update(note)

    # -- selection -------------------------------------------------------------------------

    def selection_context(self) -> dict[str, str]:
        context = {}
        backup = self.query_one("#backups", KeyedTable).current_key
        if backup:
            context["backup_id"] = backup
        breaker = self.query_one("#breakers", KeyedTable).current_key
        if breaker:
            context["name"] = breaker
        return context

    def _backup(self) -> BackupRead | None:
        backups = {str(item.id): item for item in self.backups.backups} if self.backups else {}
        found = backups.get(self.query_one("#backups", KeyedTable).current_key or "")
        if found is None:
            self.notify("no backup selected")
        return found

    def _breaker(self) -> BreakerRead | None:
        breakers = {item.name: item for item in self.breakers.breakers} if self.breakers else {}
        found = breakers.get(self.query_one("#breakers", KeyedTable).current_key or "")
        if found is None:
            self.notify("no circuit breaker selected")
        return found

    def _info(self, name: str) -> ActionInfo | None:
        info = next((item for item in self.tui.catalog if item.name == name), None)
        if info is None:
            self.notify(f"{name} is not in this server's action catalog", severity="warning")
        return info

    # -- keys ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.tui.request_refresh(force=True)
        self.reload(LISTS)

    def action_backup(self) -> None:
        info = self._info("system.backup")
        if info is not None:
            self.tui.open_action_form(info)

    def action_verify(self) -> None:
        backup = self._backup()
        if backup is not None:
            self.tui.run_admin_action(
                "system.backup.verify", {"backup_id": str(backup.id)}, after=self._verified
            )

    def _verified(self, response: ActionResponse) -> None:
        result = BackupVerifyResult.model_validate(response.result)
        if result.ok:
            self.notify(f"backup {str(result.backup_id)[:8]} verified: checksum and restore ok")
        else:
            problems = "; ".join(result.problems) or "checksum or restore check failed"
            self.notify(problems, title="backup NOT verified", severity="error")

    def action_restore(self) -> None:
        backup = self._backup()
        if backup is None:
            return
        message = system_rows.restore_question(backup, self.tui.clock())
        payload = {"backup_id": str(backup.id), "confirm": True}
        self.tui.run_admin_action("system.restore", payload, confirm=message)

    def action_delete_backup(self) -> None:
        backup = self._backup()
        if backup is None:
            return
        message = system_rows.delete_question(backup)
        payload = {"backup_id": str(backup.id), "confirm": True}
        self.tui.run_admin_action("system.backup.delete", payload, confirm=message)

    def action_maintenance_on(self) -> None:
        info = self._info("system.maintenance.enable")
        if info is None:
            return
        state = self.snap.document.dashboard.maintenance if self.snap else None
        prefill = {"message": state.message} if state and state.enabled and state.message else {}
        self.tui.open_action_form(info, prefill)

    def action_maintenance_off(self) -> None:
        self.tui.run_admin_action("system.maintenance.disable")

    def action_trip(self) -> None:
        breaker = self._breaker()
        if breaker is None:
            return
        message = system_rows.trip_question(breaker)
        payload = {"name": breaker.name, "confirm": True}
        self.tui.run_admin_action("system.circuit.trip", payload, confirm=message)

    def action_reset_breaker(self) -> None:
        breaker = self._breaker()
        if breaker is not None:
            self.tui.run_admin_action("system.circuit.reset", {"name": breaker.name})

    def action_cleanup(self) -> None:
        """Ask how old, run a dry run, show what would go, and only then ask to run it."""
        if not self.require_write():
            return
        ask_whole_number(
            self.app,
            "Storage clean-up: orphaned files untouched for how many days?",
            self._clean_up_older_than,
            value=DEFAULT_CLEANUP_DAYS,
        )

    def _clean_up_older_than(self, days: int) -> None:
        self.run_worker(
            partial(self._dry_run, days), thread=True, group="system-cleanup", exit_on_error=False
        )

    def _dry_run(self, days: int) -> None:
        try:
            result = self.tui.source.cleanup_preview(days)
        except AgentOSError as exc:
            self.app.call_from_thread(
                self.notify, f"{exc.message} ({exc.code})", title="clean-up", severity="error"
            )
            return
        self.app.call_from_thread(self._preview, days, result)

    def _preview(self, days: int, result: StorageCleanupResult) -> None:
        if not result.files and not result.expired_uploads:
            self.notify(f"nothing to clean up (orphans untouched for {days} days)")
            return
        self.tui.run_admin_action(
            "system.storage.cleanup",
            {"older_than_days": days, "confirm": True},
            confirm=system_rows.cleanup_question(result, days),
            rehearse=False,  # its dry run is the preview the question lists
        )
