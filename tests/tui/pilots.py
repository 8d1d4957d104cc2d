"""Shared by the fake-source view tests: the app, recorded notifications, the moved clock,
live events and dialog helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from agentos.tui.app import AgentOSApp
from agentos.tui.screens.jobs import JobsScreen
from agentos.tui.screens.modals import ConfirmScreen, SecretScreen
from tests.tui.fake import NOW, FakeSource
from tests.tui.support import select_row, table, wait_for

SIZE = (160, 48)
NARROW = (80, 24)
SIZES = pytest.mark.parametrize("size", [SIZE, NARROW], ids=["160x48", "80x24"])


class Clock:
    """The clock `ViewScreen.due` reads, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def fake_app(source: FakeSource, **options: Any) -> AgentOSApp:
    options.setdefault("refresh_s", 0.1)  # the document (and refresh_data) every 100 ms
    return AgentOSApp(source, clock=lambda: NOW.timestamp() + 2.0, **options)


def record_notes(app: AgentOSApp) -> list[tuple[str, str]]:
    """Record every notification as (message, severity)."""
    seen: list[tuple[str, str]] = []
    shown = app.notify

    def notify(message: str, **options: Any) -> None:
        seen.append((message, str(options.get("severity", "information"))))
        shown(message, **options)

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def live_event(source: FakeSource, payload: dict[str, Any]) -> None:
    """A change arriving on the live feed (its callbacks run on a background thread)."""
    assert source.on_event is not None
    await asyncio.to_thread(source.on_event, payload)


def shown_keys(app: AgentOSApp) -> set[str]:
    return {b.binding.description for b in app.active_bindings.values() if b.enabled}


async def confirm_dialog(pilot: Pilot[None], app: AgentOSApp) -> str:
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    return str(app.screen.query_one("#confirm-message", Static).content)


async def answer(pilot: Pilot[None], app: AgentOSApp, key: str) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog closed")


async def secret_dialog(pilot: Pilot[None], app: AgentOSApp) -> str:
    await wait_for(pilot, lambda: isinstance(app.screen, SecretScreen), "the secret dialog")
    return str(app.screen.query_one("#secret-value", Static).content)


async def open_jobs(pilot: Pilot[None], app: AgentOSApp, count: int = 12) -> None:
    """The Jobs view with its first page and the catalog (the job keys need it)."""
    await wait_for(pilot, lambda: app.has_action("job.cancel"), "the catalog")
    await pilot.press("2")
    await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), "the Jobs view")
    await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == count, "the jobs page")


async def mark(pilot: Pilot[None], app: AgentOSApp, *keys: str) -> None:
    for key in keys:
        await select_row(pilot, app, "#jobs", key)
        await pilot.press("space")
