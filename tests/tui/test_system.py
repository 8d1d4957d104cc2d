"""System view (7) on the fake source: the lists, each key's action and payload, the
confirmations, the maintenance header, fetch throttling and refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from agentos.errors import RateLimitedError, UnavailableError
from agentos.schemas.health import MaintenanceState
from agentos.tui.app import AgentOSApp
from agentos.tui.screens import base
from agentos.tui.screens.modals import ActionFormScreen, ConfirmScreen, PromptScreen
from agentos.tui.screens.system import CHANGE_GAP_S, SYSTEM_REFRESH_S, SystemScreen
from agentos.tui.widgets.header import HeaderState, render_header
from tests.tui.fake import NOW, FakeSource
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
SIZE = (160, 42)
LIST_ACTIONS = ("system.backup.list", "system.circuit.list", "system.storage.usage")
DANGEROUS_KEYS = ("R", "D", "T")


class Clock:
    """The clock `ViewScreen.due` reads, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(base, "now", moved)
    return moved


def _app(source: FakeSource, **options: Any) -> AgentOSApp:
    options.setdefault("refresh_s", 0.1)  # the document (and refresh_data) every 100 ms
    return AgentOSApp(source, clock=lambda: NOW.timestamp() + 2.0, **options)


def _notes(app: AgentOSApp) -> list[tuple[str, str]]:
    """Record every notification as (message, severity)."""
    seen: list[tuple[str, str]] = []
    shown = app.notify

    def notify(message: str, **options: Any) -> None:
        seen.append((message, str(options.get("severity", "information"))))
        shown(message, **options)

    app.notify = notify  # type: ignore[method-assign]
    return seen


def _fetches(source: FakeSource) -> dict[str, int]:
    return {name: len(source.runs(name)) for name in LIST_ACTIONS}


async def _event(source: FakeSource, payload: dict[str, Any]) -> None:
    """A change arriving on the live feed (its callbacks run on a background thread)."""
    assert source.on_event is not None
    await asyncio.to_thread(source.on_event, payload)


async def _open(pilot: Pilot[None], app: AgentOSApp, source: FakeSource) -> None:
    await wait_for(pilot, lambda: app.has_action("system.backup"), "the catalog")
    await pilot.press("7")
    await wait_for(pilot, lambda: isinstance(app.screen, SystemScreen), "the System view")
    await wait_for(pilot, lambda: len(table(app, "#backups").keys) == 2, "the backups")
    await wait_for(pilot, lambda: len(table(app, "#breakers").keys) == 3, "the breakers")
    await wait_for(pilot, lambda: "free disk" in text_of(app, "#storage-note"), "the storage")


async def _confirm_dialog(pilot: Pilot[None], app: AgentOSApp) -> str:
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    return str(app.screen.query_one("#confirm-message", Static).content)


async def _answer(pilot: Pilot[None], app: AgentOSApp, key: str) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, SystemScreen), "the dialog to close")


async def test_seven_opens_the_system_view_with_its_lists() -> None:
    source = FakeSource()
    app = _app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        backups = source.system.backups
        assert table(app, "#backups").keys == [str(item.id) for item in backups]
        assert column(app, "#backups", "label") == ["nightly-1", "nightly-2"]
        assert column(app, "#backups", "size") == ["3.3 MiB", "6.7 MiB"]
        assert column(app, "#backups", "age") == ["5.0h", "10.0h"]
        assert column(app, "#backups", "sha256") == ["1" * 12, "2" * 12]
        assert column(app, "#backups", "schema") == ["0007_backups"] * 2
        assert column(app, "#backups", "verified") == ["2026-01-01 07:00:00", "no"]
        assert column(app, "#breakers", "breaker") == ["database", "broker", "storage"]
        assert column(app, "#breakers", "state") == ["closed", "open", "half_open"]
        assert column(app, "#breakers", "failures") == ["0", "5", "2"]
        assert column(app, "#storage", "area") == ["uploads", "clips", "thumbnails", "backups"]
        assert column(app, "#storage", "files") == ["3", "40", "40", "2"]
        assert "40.0 GiB of 100.0 GiB (40%)" in text_of(app, "#storage-note")
        assert "Maintenance off" in text_of(app, "#maintenance")
        assert "MAINTENANCE" not in text_of(app, "#status")
        shown = {b.binding.description for b in app.active_bindings.values() if b.enabled}
        assert {"Backup", "Verify", "Restore", "Trip breaker", "Clean up", "Reload"} <= shown
        assert _fetches(source) == dict.fromkeys(LIST_ACTIONS, 1)


async def test_read_only_shows_the_lists_without_the_action_keys() -> None:
    source = FakeSource()
    app = _app(source, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        shown = {b.binding.description for b in app.active_bindings.values() if b.enabled}
        assert "Reload" in shown
        assert not {"Backup", "Restore", "Maint on", "Trip breaker", "Clean up"} & shown
        await pilot.press("b", "R", "T", "L", "m")
        await pilot.pause(0.3)
        assert isinstance(app.screen, SystemScreen)
        assert [name for name, _ in source.calls if name not in LIST_ACTIONS] == []


async def test_backup_verify_and_maintenance_keys_run_their_actions() -> None:
    source = FakeSource()
    app = _app(source)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen), "the form")
        app.screen.query_one("#field-label", Input).value = "pre-upgrade"
        await pilot.click("#run")
        await wait_for(pilot, lambda: len(table(app, "#backups").keys) == 3, "the new backup")
        assert source.runs("system.backup") == [{"label": "pre-upgrade"}]
        assert "pre-upgrade" in column(app, "#backups", "label")

        oldest = source.system.backups[-1]
        await select_row(pilot, app, "#backups", str(oldest.id))
        await pilot.press("v")
        await wait_for(pilot, lambda: source.runs("system.backup.verify") != [], "the verify")
        assert source.runs("system.backup.verify") == [{"backup_id": str(oldest.id)}]
        await wait_for(pilot, lambda: ("checksum mismatch", "error") in notes, "the problem")

        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen), "the form")
        app.screen.query_one("#field-message", Input).value = "database upgrade"
        await pilot.click("#run")
        await wait_for(
            pilot, lambda: "MAINTENANCE: database upgrade" in text_of(app, "#status"), "header"
        )
        assert source.runs("system.maintenance.enable") == [{"message": "database upgrade"}]
        assert "MAINTENANCE ON" in text_of(app, "#maintenance")

        await pilot.press("M")
        await wait_for(
            pilot, lambda: "MAINTENANCE" not in text_of(app, "#status"), "maintenance off"
        )
        assert source.runs("system.maintenance.disable") == [{}]


async def test_breaker_keys_run_their_actions_and_trip_asks_first() -> None:
    source = FakeSource()
    app = _app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await select_row(pilot, app, "#breakers", "database")
        await pilot.press("T")
        assert "database breaker OPEN" in await _confirm_dialog(pilot, app)
        await _answer(pilot, app, "y")
        await wait_for(pilot, lambda: column(app, "#breakers", "state")[0] == "open", "tripped")
        assert source.real_runs("system.circuit.trip") == [{"name": "database", "confirm": True}]
        assert column(app, "#breakers", "forced")[0] == "forced"

        await pilot.press("C")
        await wait_for(pilot, lambda: column(app, "#breakers", "state")[0] == "closed", "reset")
        assert source.runs("system.circuit.reset") == [{"name": "database"}]


async def test_restore_delete_and_cleanup_run_after_confirmation() -> None:
    source = FakeSource()
    app = _app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        first, second = (str(item.id) for item in source.system.backups)
        await select_row(pilot, app, "#backups", second)
        await pilot.press("R")
        assert "Restore the database from backup nightly-2" in await _confirm_dialog(pilot, app)
        await _answer(pilot, app, "y")
        await wait_for(pilot, lambda: source.real_runs("system.restore") != [], "the restore")
        assert source.real_runs("system.restore") == [{"backup_id": second, "confirm": True}]

        await select_row(pilot, app, "#backups", first)
        await pilot.press("D")
        assert "Delete backup nightly-1" in await _confirm_dialog(pilot, app)
        await _answer(pilot, app, "y")
        await wait_for(pilot, lambda: table(app, "#backups").keys == [second], "the deletion")
        assert source.real_runs("system.backup.delete") == [{"backup_id": first, "confirm": True}]

        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        app.screen.query_one(Input).value = "30"
        await pilot.press("enter")
        preview = await _confirm_dialog(pilot, app)
        assert source.runs("system.storage.cleanup") == [{"older_than_days": 30, "dry_run": True}]
        assert "/home/agentos/uploads/stale-1" in preview
        assert "job gone" in preview
        assert "upload sessions to expire: 1" in preview
        await _answer(pilot, app, "y")
        await wait_for(pilot, lambda: len(source.runs("system.storage.cleanup")) == 2, "cleanup")
        assert source.runs("system.storage.cleanup")[1] == {"older_than_days": 30, "confirm": True}


async def test_dangerous_keys_do_nothing_when_declined() -> None:
    source = FakeSource()
    app = _app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await select_row(pilot, app, "#breakers", "broker")
        await select_row(pilot, app, "#backups", str(source.system.backups[0].id))
        for key in DANGEROUS_KEYS:
            for refusal in ("n", "escape"):  # declined with n, then with Escape
                await pilot.press(key)
                await _confirm_dialog(pilot, app)
                await _answer(pilot, app, refusal)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        await pilot.press("enter")
        await _confirm_dialog(pilot, app)
        await _answer(pilot, app, "n")
        await pilot.pause(0.3)
        done = [name for name, payload in source.calls if not payload.get("dry_run")]
        assert set(done) == set(LIST_ACTIONS)  # only the lists were read
        assert source.runs("system.storage.cleanup") == [{"older_than_days": 7, "dry_run": True}]
        assert len(source.system.backups) == 2
        assert column(app, "#breakers", "state") == ["closed", "open", "half_open"]


async def test_the_header_shows_maintenance_mode_in_every_view() -> None:
    source = FakeSource()
    source.document.dashboard.maintenance = MaintenanceState(
        enabled=True, message="moving the database", since=NOW, by="ops"
    )
    app = _app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the document")
        await wait_for(pilot, lambda: "MAINTENANCE" in text_of(app, "#status"), "the header")
        assert "MAINTENANCE: moving the database" in text_of(app, "#status")
        await pilot.press("7")
        await wait_for(pilot, lambda: "ops" in text_of(app, "#maintenance"), "the view's line")
        assert "MAINTENANCE: moving the database" in text_of(app, "#status")
        assert "since 2026-01-01 12:00:00" in text_of(app, "#maintenance")

        source.document.dashboard.maintenance = MaintenanceState(enabled=False)
        await wait_for(pilot, lambda: "MAINTENANCE" not in text_of(app, "#status"), "it gone")
    assert "MAINTENANCE" not in render_header(HeaderState()).plain


async def test_lists_are_read_at_most_every_30_s_unless_asked_or_changed(clock: Clock) -> None:
    source = FakeSource()
    app = _app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await pilot.pause(1.0)  # ~10 refreshes of the document
        assert _fetches(source) == dict.fromkeys(LIST_ACTIONS, 1)
        await pilot.press("1")
        await pilot.pause(0.2)
        await pilot.press("7")
        await pilot.pause(0.5)
        assert _fetches(source) == dict.fromkeys(LIST_ACTIONS, 1)  # back within 30 s

        clock.now += SYSTEM_REFRESH_S - 1
        await pilot.pause(0.5)
        assert _fetches(source) == dict.fromkeys(LIST_ACTIONS, 1)
        clock.now += 2
        await wait_for(pilot, lambda: _fetches(source) == dict.fromkeys(LIST_ACTIONS, 2), "30 s")
        await pilot.pause(0.5)
        assert _fetches(source) == dict.fromkeys(LIST_ACTIONS, 2)

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: _fetches(source) == dict.fromkeys(LIST_ACTIONS, 3), "^r")

        # An action reads again what it changed, and only that.
        await select_row(pilot, app, "#breakers", "broker")
        await pilot.press("C")
        await wait_for(pilot, lambda: _fetches(source)["system.circuit.list"] == 4, "breakers")
        await pilot.pause(0.5)
        assert _fetches(source) == {
            "system.backup.list": 3,
            "system.circuit.list": 4,
            "system.storage.usage": 3,
        }
        # A live event from elsewhere reads again, unless the list was read just now.
        await _event(source, {"kind": "system.breaker_forced", "name": "broker"})
        await pilot.pause(0.3)
        assert _fetches(source)["system.circuit.list"] == 4
        clock.now += CHANGE_GAP_S + 1
        await _event(source, {"kind": "system.breaker_forced", "name": "broker"})
        await wait_for(pilot, lambda: _fetches(source)["system.circuit.list"] == 5, "the event")
        await pilot.pause(0.3)
        assert _fetches(source)["system.backup.list"] == 3


async def test_refusals_and_errors_show_a_message(clock: Clock) -> None:
    source = FakeSource()
    source.system.fail["system.backup.list"] = RateLimitedError(
        "5 requests per 60 s for system.backup.list", retry_after_s=12, code="RATE_LIMITED"
    )
    source.system.fail["system.circuit.list"] = UnavailableError(
        "breaker state store is down", code="UNAVAILABLE"
    )
    app = _app(source)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("system.backup"), "the catalog")
        await pilot.press("7")
        await wait_for(pilot, lambda: "rate limited" in text_of(app, "#backups-note"), "429 note")
        assert "read again in 12 s" in text_of(app, "#backups-note")
        await wait_for(pilot, lambda: "is down" in text_of(app, "#breakers-note"), "the error")
        assert any("rate limited" in text and level == "warning" for text, level in notes)
        assert any("UNAVAILABLE" in text and level == "error" for text, level in notes)
        await wait_for(pilot, lambda: "free disk" in text_of(app, "#storage-note"), "storage")

        # The next read waits for the Retry-After, not for the usual 30 s.
        del source.system.fail["system.backup.list"]
        await pilot.pause(0.3)
        assert len(source.runs("system.backup.list")) == 1
        clock.now += 13
        await wait_for(pilot, lambda: len(table(app, "#backups").keys) == 2, "the backups")
        assert text_of(app, "#backups-note") == ""
        assert len(source.runs("system.circuit.list")) == 1

        # An action refused by the rate limiter is a notification, and the app goes on.
        source.system.fail["system.backup.verify"] = RateLimitedError(
            "5 requests per 60 s for system.backup.verify", retry_after_s=40, code="RATE_LIMITED"
        )
        await select_row(pilot, app, "#backups", str(source.system.backups[0].id))
        await pilot.press("v")
        await wait_for(
            pilot, lambda: any("RATE_LIMITED" in text for text, _ in notes), "the refusal"
        )
        assert isinstance(app.screen, SystemScreen)
