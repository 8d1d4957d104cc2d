"""Confirmation, read-only, the command line and action forms (embedded deployment)."""

from __future__ import annotations

import pytest

from agentos.schemas.seed import SeedResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui import commands
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.modals import ActionFormScreen, ConfirmScreen
from agentos.tui.source import LocalSource
from tests.tui.support import audit_of, job_ids, job_status, select_row, table, wait_for

pytestmark = pytest.mark.asyncio
SIZE = (180, 50)


async def test_a_dangerous_action_waits_for_confirmation(
    embedded_settings: Settings, embedded_runtime: Runtime, seeded_embedded: SeedResult
) -> None:
    queued = job_ids(embedded_runtime, "queued")
    assert queued
    app = AgentOSApp(LocalSource(embedded_settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("queue.clear"), "the catalog")
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog")
        # Its dry run ran first: the question says what would change, in words.
        message = str(app.screen.query_one("#confirm-message").content)
        assert message.startswith("Cancel every queued job")
        assert f"dry run: would affect count {len(queued)}" in message
        await pilot.pause(0.3)
        assert job_ids(embedded_runtime, "queued") == queued  # nothing ran yet
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "dismissal")
        assert job_ids(embedded_runtime, "queued") == queued
        rehearsals = audit_of(embedded_runtime, "queue.clear")
        assert [(r.outcome, (r.payload or {}).get("dry_run")) for r in rehearsals] == [
            ("success", True)
        ]

        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog again")
        await pilot.press("y")
        await wait_for(pilot, lambda: not job_ids(embedded_runtime, "queued"), "the queue cleared")
        assert all(job_status(embedded_runtime, job) == "cancelled" for job in queued)
        done = [r for r in audit_of(embedded_runtime, "queue.clear") if r.payload["confirm"]]
        assert [(r.outcome, r.source, r.payload["dry_run"]) for r in done] == [
            ("success", "tui", False)
        ]


async def test_read_only_hides_and_refuses_actions(
    embedded_settings: Settings, embedded_runtime: Runtime, seeded_embedded: SeedResult
) -> None:
    queued = job_ids(embedded_runtime, "queued")
    app = AgentOSApp(LocalSource(embedded_settings), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: queued[0] in table(app, "#jobs").keys, "the jobs page")
        shown = {b.binding.description for b in app.active_bindings.values() if b.enabled}
        assert "Cancel" not in shown
        assert "Sort" in shown
        await select_row(pilot, app, "#jobs", queued[0])
        await pilot.press("c", "x")
        await pilot.pause(0.3)
        app.run_admin_action("job.cancel", {"job_id": queued[0]})
        await pilot.pause(0.3)
        assert job_status(embedded_runtime, queued[0]) == "queued"
        assert audit_of(embedded_runtime, "job.cancel") == []


async def test_command_line_and_bulk_marks(
    embedded_settings: Settings, embedded_runtime: Runtime, seeded_embedded: SeedResult
) -> None:
    queued = job_ids(embedded_runtime, "queued")
    app = AgentOSApp(LocalSource(embedded_settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("job.set_priority"), "the catalog")
        await pilot.press("colon", *"jobs", "enter")
        await wait_for(pilot, lambda: queued[0] in table(app, "#jobs").keys, "the jobs view")

        commands.execute(app, f"job.set_priority job_id={queued[0]} priority=42")
        await wait_for(
            pilot,
            lambda: (
                [r.outcome for r in audit_of(embedded_runtime, "job.set_priority")] == ["success"]
            ),
            "the priority change",
        )
        # Missing fields open the action's form, prefilled from the selection.
        await select_row(pilot, app, "#jobs", queued[1])
        commands.execute(app, "job.set_priority")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen), "the form")
        await pilot.press("escape")

        # Marks: the count is shown before anything runs.
        await select_row(pilot, app, "#jobs", queued[0])
        await pilot.press("space")
        await select_row(pilot, app, "#jobs", queued[1])
        await pilot.press("space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the bulk preview")
        message = str(app.screen.query_one("#confirm-message").content)
        assert message.startswith("Cancel 2 marked jobs?")
        assert all(job[:8] in message for job in queued[:2])  # the marked jobs are listed
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: {job_status(embedded_runtime, job) for job in queued[:2]} == {"cancelled"},
            "both cancelled",
        )
