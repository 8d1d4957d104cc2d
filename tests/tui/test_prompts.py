"""Whole-number prompts (job priority here; agent concurrency and the storage clean-up use
the same one): a number runs the action, anything else is a message and runs nothing."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from agentos.tui.app import AgentOSApp
from agentos.tui.screens.jobs import JobsScreen
from agentos.tui.screens.modals import PromptScreen
from tests.tui.fake import NOW, FakeSource
from tests.tui.support import select_row, table, wait_for

pytestmark = pytest.mark.asyncio


async def _priority(pilot: Pilot[None], app: AgentOSApp, typed: str) -> None:
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
    app.screen.query_one(Input).value = typed
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), "the jobs view")


async def test_a_whole_number_runs_the_action_and_anything_else_does_not() -> None:
    source = FakeSource()
    app = AgentOSApp(source, clock=lambda: NOW.timestamp(), refresh_s=3600)
    async with app.run_test(size=(160, 42)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) > 0, "the jobs page")
        job = table(app, "#jobs").keys[1]
        await select_row(pilot, app, "#jobs", job)
        await _priority(pilot, app, "many")
        await pilot.pause(0.2)
        assert source.runs("job.set_priority") == []
        await _priority(pilot, app, "42")
        await wait_for(pilot, lambda: source.runs("job.set_priority") != [], "the action")
        assert source.runs("job.set_priority") == [{"job_id": job, "priority": 42}]
