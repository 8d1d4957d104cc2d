"""Configuration view (6) on the fake source: every setting with its value and source,
editing (`config.set`, a refused value shown under the field), reset, history, read-only."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from agentos.errors import RateLimitedError
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.config import CONFIG_REFRESH_S, ConfigScreen
from agentos.tui.screens.forms import FormScreen
from tests.tui.fake import FakeSource
from tests.tui.pilots import (
    SIZE,
    Clock,
    answer,
    confirm_dialog,
    fake_app,
    record_notes,
    shown_keys,
)
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
SETTINGS = [
    "deployment",
    "backend",
    "ssot_cache_ttl_s",
    "log_level",
    "action_rate_limits",
    "database_url",
    "secret_key",
]


def _row(app: AgentOSApp, name: str) -> dict[str, str]:
    index = table(app, "#settings").keys.index(name)
    return {
        heading: column(app, "#settings", heading)[index]
        for heading in ("setting", "value", "source", "live")
    }


async def _open(pilot: Pilot[None], app: AgentOSApp) -> None:
    await wait_for(pilot, lambda: app.has_action("config.set"), "the catalog")
    await pilot.press("6")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfigScreen), "the view")
    await wait_for(pilot, lambda: table(app, "#settings").keys == SETTINGS, "the settings")


async def _edit(pilot: Pilot[None], app: AgentOSApp, name: str) -> FormScreen:
    await select_row(pilot, app, "#settings", name)
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), "the edit form")
    assert isinstance(app.screen, FormScreen)
    return app.screen


async def _set(pilot: Pilot[None], form: FormScreen, text: str) -> None:
    box = form.query_one("#field-value", Input)
    box.value = text
    box.focus()
    await pilot.press("enter")


def _value_error(app: AgentOSApp) -> str:
    return text_of(app, "#error-value")


async def test_six_lists_every_setting_with_its_value_and_source() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        assert _row(app, "deployment") == {
            "setting": "deployment",
            "value": "embedded",
            "source": "",
            "live": "",
        }
        assert _row(app, "ssot_cache_ttl_s") == {
            "setting": "ssot_cache_ttl_s",
            "value": "15",
            "source": "default",
            "live": "✎",
        }
        assert _row(app, "log_level")["source"] == "environment"
        assert _row(app, "action_rate_limits")["value"] == '{"high_risk": 10}'
        assert _row(app, "database_url")["live"] == ""
        assert _row(app, "secret_key")["value"] == "****"
        assert text_of(app, "#runtime-note") == "no runtime settings changed yet (defaults apply)"
        assert {"Edit", "Reset", "History", "Reload"} <= shown_keys(app)
        assert source.config_data.reads == 1

        await pilot.press("slash", *"cache", "enter")
        await wait_for(pilot, lambda: table(app, "#settings").keys == ["ssot_cache_ttl_s"], "/")


async def test_edit_shows_a_refused_value_under_the_field_then_sets_it() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        form = await _edit(pilot, app, "ssot_cache_ttl_s")
        assert form.query_one("#field-value", Input).value == "15"
        assert "from the default" in form.note

        await _set(pilot, form, "0")
        await wait_for(pilot, lambda: "greater than or equal to 1" in _value_error(app), "error")
        assert source.runs("config.set") == [{"key": "ssot_cache_ttl_s", "value": 0}]
        assert app.screen is form
        assert not form.busy
        assert form.query_one("#field-value", Input).value == "0"

        await _set(pilot, form, "20")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigScreen), "the form closed")
        await wait_for(pilot, lambda: _row(app, "ssot_cache_ttl_s")["value"] == "20", "new value")
        assert source.runs("config.set")[1] == {"key": "ssot_cache_ttl_s", "value": 20}
        assert _row(app, "ssot_cache_ttl_s")["source"] == "runtime"
        assert table(app, "#runtime").keys == ["config:ssot_cache_ttl_s"]

        # A text setting gets the text; an object setting must be JSON (checked here first).
        form = await _edit(pilot, app, "log_level")
        await _set(pilot, form, "DEBUG")
        await wait_for(pilot, lambda: _row(app, "log_level")["value"] == "DEBUG", "log level")
        assert source.runs("config.set")[2] == {"key": "log_level", "value": "DEBUG"}
        form = await _edit(pilot, app, "action_rate_limits")
        await _set(pilot, form, "{high_risk: 5")
        await wait_for(pilot, lambda: "an object in JSON" in _value_error(app), "the JSON error")
        assert len(source.runs("config.set")) == 3
        await _set(pilot, form, '{"high_risk": 5}')
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigScreen), "the form closed")
        assert source.runs("config.set")[3] == {
            "key": "action_rate_limits",
            "value": {"high_risk": 5},
        }


async def test_settings_that_cannot_change_live_are_not_edited() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await select_row(pilot, app, "#settings", "database_url")
        await pilot.press("e", "X")
        await wait_for(
            pilot,
            lambda: any("AGENTOS_DATABASE_URL" in text for text, _ in notes),
            "the explanation",
        )
        await select_row(pilot, app, "#settings", "ssot_cache_ttl_s")
        await pilot.press("X")  # nothing set at runtime: nothing to reset
        await wait_for(
            pilot, lambda: any("has no runtime value" in text for text, _ in notes), "the note"
        )
        assert isinstance(app.screen, ConfigScreen)
        assert source.runs("config.set") == source.runs("config.reset") == []


async def test_reset_asks_first_and_history_follows_the_changes() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await select_row(pilot, app, "#settings", "ssot_cache_ttl_s")
        await pilot.press("h")
        await wait_for(pilot, lambda: "never set at runtime" in text_of(app, "#history-note"), "h")
        assert source.runs("config.history") == [{"limit": 50, "key": "ssot_cache_ttl_s"}]

        form = await _edit(pilot, app, "ssot_cache_ttl_s")
        await _set(pilot, form, "30")
        await wait_for(pilot, lambda: len(table(app, "#history").keys) == 1, "the change listed")
        assert column(app, "#history", "old") == ["15"]
        assert column(app, "#history", "new") == ["30"]
        assert column(app, "#history", "by") == ["tui-fake"]

        await pilot.press("X")
        question = await confirm_dialog(pilot, app)
        assert "Reset ssot_cache_ttl_s? Its runtime value 30 is removed" in question
        await answer(pilot, app, "n")
        await pilot.press("X")
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: _row(app, "ssot_cache_ttl_s")["value"] == "15", "reset")
        assert source.runs("config.reset") == [{"key": "ssot_cache_ttl_s"}]
        assert _row(app, "ssot_cache_ttl_s")["source"] == "default"
        await wait_for(pilot, lambda: len(table(app, "#history").keys) == 2, "the reset listed")
        assert column(app, "#history", "new") == ["reset", "30"]
        assert "History of ssot_cache_ttl_s (2)" in text_of(app, "#history-title")


async def test_read_only_shows_settings_and_history_but_no_edits() -> None:
    source = FakeSource()
    app = fake_app(source, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        assert "History" in shown_keys(app)
        assert not {"Edit", "Reset"} & shown_keys(app)
        await select_row(pilot, app, "#settings", "ssot_cache_ttl_s")
        await pilot.press("e", "X", "h")
        await wait_for(pilot, lambda: source.runs("config.history") != [], "the history")
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        screen.action_edit()  # refused even when reached without its key
        await pilot.pause(0.2)
        assert isinstance(app.screen, ConfigScreen)
        assert source.runs("config.set") == source.runs("config.reset") == []


async def test_a_refused_read_keeps_the_last_values(moved_clock: Clock) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        source.config_data.fail["config.get"] = RateLimitedError(
            "50 requests per 60 s for config.get", retry_after_s=20, code="RATE_LIMITED"
        )
        await pilot.pause(0.3)
        assert source.config_data.reads == 1  # read when opened, not on every refresh
        moved_clock.now += CONFIG_REFRESH_S + 1
        await wait_for(pilot, lambda: "rate limited" in text_of(app, "#settings-note"), "429")
        assert "(showing the last values)" in text_of(app, "#settings-note")
        assert table(app, "#settings").keys == SETTINGS
        del source.config_data.fail["config.get"]
        moved_clock.now += 21  # the Retry-After, not another 30 s
        await wait_for(pilot, lambda: text_of(app, "#settings-note") == "", "the next read")
        assert source.config_data.reads == 3
