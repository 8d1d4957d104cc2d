"""Managers view (8) on the fake source: the four lists, each key's form or confirmation and
the action and payload it runs, one-time secrets, read-only mode, empty states, refusals."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select

from agentos.errors import ConflictError, ForbiddenError
from agentos.schemas.actions import DangerousPayload
from agentos.schemas.actions_managers import IpAllowAddPayload
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.forms import FormScreen
from agentos.tui.screens.managers import MANAGERS_REFRESH_S, ManagersScreen
from agentos.tui.screens.modals import ChoiceScreen, SecretScreen
from tests.tui.fake import FakeSource
from tests.tui.fake_managers import KEY_SECRET, MANAGER_ACTIONS, ONE_TIME_PASSWORD, user_id
from tests.tui.pilots import (
    SIZE,
    Clock,
    answer,
    confirm_dialog,
    fake_app,
    record_notes,
    secret_dialog,
    shown_keys,
)
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
ADMIN, DANA, EVE = (str(user_id(number)) for number in (1, 2, 3))
WRITE_KEYS = ("n", "e", "D", "o", "u", "T", "k", "K", "i", "I", "L")


def _writes(source: FakeSource) -> list[str]:
    return [name for name, _ in source.calls]


async def _open(pilot: Pilot[None], app: AgentOSApp) -> None:
    await wait_for(pilot, lambda: app.has_action("user.create"), "the catalog")
    await pilot.press("8")
    await wait_for(pilot, lambda: isinstance(app.screen, ManagersScreen), "the Managers view")
    await wait_for(pilot, lambda: len(table(app, "#users").keys) == 3, "the users")


async def _form(pilot: Pilot[None], app: AgentOSApp, key: str) -> FormScreen:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), "the form")
    assert isinstance(app.screen, FormScreen)
    return app.screen


def _type(form: FormScreen, **values: str) -> None:
    for name, value in values.items():
        widget = form.query_one(f"#field-{name}")
        assert isinstance(widget, Input | Select)
        widget.value = value


async def _submit(pilot: Pilot[None], form: FormScreen) -> None:
    """Enter in the form's last field runs it (a second click on Run within the button's
    press animation would be ignored)."""
    form.query(Input).last().focus()
    await pilot.press("enter")


def _field_error(app: AgentOSApp, name: str) -> str:
    return text_of(app, f"#error-{name}")


async def test_eight_lists_users_keys_the_allow_list_and_lockouts() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        assert table(app, "#users").keys == [ADMIN, DANA, EVE]
        assert column(app, "#users", "user") == ["admin", "dana", "eve"]
        assert column(app, "#users", "role") == ["admin", "operator", "readonly"]
        assert column(app, "#users", "active") == ["yes", "yes", "disabled"]
        assert column(app, "#users", "must change") == ["no", "yes", "no"]
        assert column(app, "#users", "locked")[2].startswith("until ")
        assert column(app, "#users", "email") == ["-", "dana@ex.org", "-"]
        assert column(app, "#keys", "name") == ["ci-uploader", "old-key"]
        assert column(app, "#keys", "owner") == ["dana", "admin"]
        assert column(app, "#keys", "scopes") == ["agent", "-"]
        assert column(app, "#keys", "revoked")[0] == "-"
        assert column(app, "#keys", "revoked")[1] != "-"
        assert table(app, "#allowlist").keys == [
            "table:10.20.0.0/16",
            "env:127.0.0.0/8",
            "env:::1/128",
        ]
        assert column(app, "#allowlist", "from") == ["table", "environment", "environment"]
        assert column(app, "#lockouts", "subject") == ["203.0.113.7", "eve"]
        assert column(app, "#lockouts", "failures") == ["5", "3"]
        counts = text_of(app, "#managers-note")
        assert "Users (3, 2 active)" in counts
        assert "API keys (2, 1 live)" in counts
        assert "allow-list 1 + 2 configured" in counts
        assert {"New user", "Disable", "Role", "New key", "Revoke key", "Allow CIDR"} <= shown_keys(
            app
        )
        assert source.managers_data.reads == 1

        await pilot.press("slash", *"dana", "enter")
        await wait_for(pilot, lambda: table(app, "#users").keys == [DANA], "the filter")
        assert column(app, "#keys", "name") == ["ci-uploader"]  # dana's key, by its owner
        assert text_of(app, "#lockouts-note") == "nothing matches 'dana'"


async def test_user_keys_run_their_actions_on_the_selected_user() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await select_row(pilot, app, "#users", DANA)

        await pilot.press("D")
        assert "Disable dana (operator)?" in await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: column(app, "#users", "active")[1] == "disabled", "disable")
        assert source.runs("user.disable") == [{"user_id": DANA}]

        await pilot.press("e")
        await wait_for(pilot, lambda: column(app, "#users", "active")[1] == "yes", "enabled")
        assert source.runs("user.enable") == [{"user_id": DANA}]

        await pilot.press("T")
        assert "revoke their 1 live API key(s)" in await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: source.runs("user.tokens.revoke") != [], "the revoke")
        assert source.runs("user.tokens.revoke") == [{"user_id": DANA}]

        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the roles")
        options = app.screen.query_one(OptionList)
        assert options.highlighted == 1  # operator: dana's role now
        options.highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: column(app, "#users", "role")[1] == "admin", "new role")
        assert source.runs("user.set_role") == [{"user_id": DANA, "role": "admin"}]

        await select_row(pilot, app, "#users", EVE)
        await pilot.press("u")
        await wait_for(pilot, lambda: column(app, "#users", "locked")[2] == "no", "unlocked")
        assert source.runs("user.unlock") == [{"user_id": EVE}]


async def test_declined_and_unchanged_run_nothing() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await select_row(pilot, app, "#users", DANA)
        for key in ("D", "T"):
            await pilot.press(key)
            await confirm_dialog(pilot, app)
            await answer(pilot, app, "n")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the roles")
        await pilot.press("enter")  # the role dana has already
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the roles again")
        await pilot.press("escape")
        await select_row(pilot, app, "#keys", str(source.managers_data.keys[0].id))
        await pilot.press("K")
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "escape")
        await pilot.pause(0.3)
        assert _writes(source) == []
        assert column(app, "#users", "active")[1] == "yes"


async def test_a_new_users_one_time_password_is_shown_once() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        form = await _form(pilot, app, "n")
        assert form.query_one("#field-role", Select).value == "operator"
        await pilot.press(*"zoe")
        _type(form, role="supervisor", email="zoe@ex.org")
        await _submit(pilot, form)
        assert await secret_dialog(pilot, app) == ONE_TIME_PASSWORD
        assert source.runs("user.create") == [
            {"username": "zoe", "role": "supervisor", "email": "zoe@ex.org"}
        ]
        assert "zoe" in text_of(app, ".dialog-title")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ManagersScreen), "the view")
        await wait_for(pilot, lambda: "zoe" in column(app, "#users", "user"), "the new user")
        assert not any(ONE_TIME_PASSWORD in text for text, _ in notes)
        assert not any(isinstance(screen, SecretScreen) for screen in app.screen_stack)


async def test_a_new_api_keys_secret_is_shown_once() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await select_row(pilot, app, "#users", DANA)
        form = await _form(pilot, app, "k")
        assert "for dana" in form.title_text
        _type(form, name="uploader-2", scopes="agent, reports", expires_in_days="30")
        await _submit(pilot, form)
        assert await secret_dialog(pilot, app) == KEY_SECRET
        assert source.runs("apikey.create") == [
            {
                "user_id": DANA,
                "name": "uploader-2",
                "scopes": ["agent", "reports"],
                "expires_in_days": 30,
            }
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ManagersScreen), "the view")
        await wait_for(pilot, lambda: "uploader-2" in column(app, "#keys", "name"), "the key")
        row = column(app, "#keys", "name").index("uploader-2")
        assert column(app, "#keys", "prefix")[row] == "aos_0003"  # its prefix, never the secret
        assert not any(KEY_SECRET in text for text, _ in notes)
        assert ("done", "information") in [(text[:4], level) for text, level in notes]


async def test_forms_show_problems_under_their_field_and_stay_open() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await select_row(pilot, app, "#users", DANA)
        form = await _form(pilot, app, "k")
        await _submit(pilot, form)
        await wait_for(pilot, lambda: _field_error(app, "name") == "required", "required")
        _type(form, name="ci", expires_in_days="soon")
        await _submit(pilot, form)
        await wait_for(pilot, lambda: "whole number" in _field_error(app, "expires_in_days"), "n")
        assert source.runs("apikey.create") == []

        # What the pipeline refuses goes under the field it names; the form keeps the text.
        source.managers_data.fail["apikey.create"] = ConflictError(
            "name: dana has a key named 'ci' already", code="KEY_EXISTS", details={"field": "name"}
        )
        _type(form, expires_in_days="")
        await _submit(pilot, form)
        await wait_for(pilot, lambda: "already" in _field_error(app, "name"), "the refusal")
        assert _field_error(app, "name") == "dana has a key named 'ci' already"
        assert app.screen is form
        assert form.query_one("#field-name", Input).value == "ci"
        assert not form.busy
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ManagersScreen), "the view")

        form = await _form(pilot, app, "i")
        form.query_one("#field-cidr", Input).focus()
        await pilot.press(*"10.0.0.300/8")
        await wait_for(pilot, lambda: "not an IP network" in _field_error(app, "cidr"), "check")
        await _submit(pilot, form)
        await pilot.pause(0.2)
        assert source.runs("ipallow.add") == []
        assert app.screen is form


async def test_key_allow_list_and_lockout_keys_run_their_actions() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        live, revoked = (str(key.id) for key in source.managers_data.keys)
        await select_row(pilot, app, "#keys", live)
        await pilot.press("K")
        assert "Revoke API key 'ci-uploader' (aos_0001…) of dana?" in await confirm_dialog(
            pilot, app
        )
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: column(app, "#keys", "revoked")[0] != "-", "revoked")
        assert source.runs("apikey.revoke") == [{"key_id": live}]
        await select_row(pilot, app, "#keys", revoked)
        await pilot.press("K")
        await wait_for(
            pilot,
            lambda: ("API key 'old-key' is already revoked", "information") in notes,
            "the note",
        )

        form = await _form(pilot, app, "i")
        _type(form, cidr="192.168.7.0/24", note="vpn")
        await _submit(pilot, form)
        await wait_for(
            pilot, lambda: "table:192.168.7.0/24" in table(app, "#allowlist").keys, "added"
        )
        assert source.runs("ipallow.add") == [{"cidr": "192.168.7.0/24", "note": "vpn"}]

        await select_row(pilot, app, "#allowlist", "table:10.20.0.0/16")
        await pilot.press("I")
        question = await confirm_dialog(pilot, app)
        assert "Remove 10.20.0.0/16" in question
        assert "127.0.0.0/8, ::1/128" in question
        await answer(pilot, app, "y")
        await wait_for(
            pilot, lambda: "table:10.20.0.0/16" not in table(app, "#allowlist").keys, "removed"
        )
        assert source.runs("ipallow.remove") == [{"cidr": "10.20.0.0/16"}]
        await select_row(pilot, app, "#allowlist", "env:127.0.0.0/8")
        await pilot.press("I")
        await wait_for(pilot, lambda: any("environment" in text for text, _ in notes), "refused")
        assert len(source.runs("ipallow.remove")) == 1

        await select_row(pilot, app, "#lockouts", "ip:203.0.113.7")
        await pilot.press("L")
        await wait_for(pilot, lambda: table(app, "#lockouts").keys == ["user:eve"], "cleared")
        assert source.runs("system.lockout.clear") == [{"ip": "203.0.113.7"}]
        await select_row(pilot, app, "#lockouts", "user:eve")
        await pilot.press("L")
        await wait_for(pilot, lambda: source.runs("user.unlock") != [], "the unlock")
        assert source.runs("user.unlock") == [{"user_id": EVE}]


async def test_read_only_lists_without_the_write_keys() -> None:
    source = FakeSource()
    app = fake_app(source, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        assert "Reload" in shown_keys(app)
        assert not {"New user", "Disable", "Role", "New key", "Allow CIDR"} & shown_keys(app)
        assert "READ-ONLY" in text_of(app, "#status")
        await select_row(pilot, app, "#users", DANA)
        await pilot.press(*WRITE_KEYS)
        await pilot.pause(0.3)
        assert isinstance(app.screen, ManagersScreen)
        screen = app.screen
        screen.action_new_user()  # refused even when reached without its key
        screen.action_disable()
        await pilot.pause(0.3)
        assert isinstance(app.screen, ManagersScreen)
        assert _writes(source) == []


async def test_empty_lists_say_so() -> None:
    source = FakeSource()
    data = source.managers_data
    data.users, data.keys, data.allowlist, data.configured, data.lockouts = [], [], [], [], []
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("user.create"), "the catalog")
        await pilot.press("8")
        await wait_for(pilot, lambda: text_of(app, "#users-note") == "no users", "empty users")
        assert text_of(app, "#keys-note") == "no API keys — k issues one"
        assert text_of(app, "#allowlist-note") == "no networks allowed (only local front ends)"
        assert text_of(app, "#lockouts-note") == "no lockouts"
        await pilot.press("D", "K", "L")
        await pilot.pause(0.3)
        assert _writes(source) == []


async def test_a_refused_read_is_shown_and_lists_are_read_when_due(moved_clock: Clock) -> None:
    source = FakeSource()
    source.managers_data.fail["managers"] = ForbiddenError("admin only", code="FORBIDDEN")
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("user.create"), "the catalog")
        await pilot.press("8")
        await wait_for(pilot, lambda: "not permitted" in text_of(app, "#managers-note"), "403")
        assert "need an admin" in text_of(app, "#managers-note")
        assert text_of(app, "#users-note") == "not loaded: see above"

        del source.managers_data.fail["managers"]
        await pilot.pause(0.5)  # several document refreshes: not due yet
        assert source.managers_data.reads == 1
        moved_clock.now += MANAGERS_REFRESH_S + 1
        await wait_for(pilot, lambda: len(table(app, "#users").keys) == 3, "the next read")
        assert source.managers_data.reads == 2
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: source.managers_data.reads == 3, "^r")
        await select_row(pilot, app, "#users", DANA)
        await pilot.press("e")  # an action reads the lists again at once
        await wait_for(pilot, lambda: source.managers_data.reads == 4, "after the action")


class _DangerousAllow(IpAllowAddPayload, DangerousPayload):
    """ipallow.add as a server that marks it dangerous would take it."""


async def test_a_form_whose_confirmation_is_declined_can_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(MANAGER_ACTIONS, "ipallow.add", _DangerousAllow)
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        app.catalog = [  # as if the server marked ipallow.add dangerous
            info.model_copy(update={"dangerous": True}) if info.name == "ipallow.add" else info
            for info in app.catalog
        ]
        form = await _form(pilot, app, "i")
        _type(form, cidr="192.168.7.0/24")
        await _submit(pilot, form)
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "n")
        await wait_for(pilot, lambda: app.screen is form, "the form again")
        assert not form.busy
        assert text_of(app, "#form-error") == "not run (not confirmed)"
        await _submit(pilot, form)
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: isinstance(app.screen, ManagersScreen), "done")
        assert source.real_runs("ipallow.add") == [{"cidr": "192.168.7.0/24", "confirm": True}]
        # Each question came after the action's dry run.
        assert source.rehearsals("ipallow.add") == [{"cidr": "192.168.7.0/24", "dry_run": True}] * 2
