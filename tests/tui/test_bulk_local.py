"""Issue 16 end to end on a seeded local deployment (the real pipeline, at 80x24): bulk
delete of marked jobs is confirmed and done (no CONFIRMATION_REQUIRED), a refused delete
asks nothing, and the list is sorted on the server across pages."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from agentos.schemas.seed import SeedResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.reports import BulkReportScreen
from agentos.tui.source import LocalSource
from tests.tui.pilots import NARROW, answer, confirm_dialog, mark, record_notes
from tests.tui.support import audit_of, column, job_ids, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio


async def _jobs_view(pilot: Pilot[None], app: AgentOSApp, total: int) -> None:
    await wait_for(pilot, lambda: app.has_action("job.delete"), "the catalog")
    await pilot.press("2")
    await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == total, "the jobs")


async def test_bulk_delete_of_marked_jobs_is_done_audited_and_stops_at_the_limit(
    settings: Settings, runtime: Runtime, seeded: SeedResult
) -> None:
    finished = job_ids(runtime, "failed") + job_ids(runtime, "cancelled")
    total = sum(seeded.jobs_by_status.values())
    app = AgentOSApp(LocalSource(settings))
    async with app.run_test(size=NARROW) as pilot:
        await _jobs_view(pilot, app, total)
        info = app.info_of("job.delete")
        assert info is not None
        allowed = info.rate_limit
        assert len(finished) > allowed  # the seed has more than one window's worth
        await mark(pilot, app, *finished)
        await pilot.press("x")
        question = await confirm_dialog(pilot, app)
        assert question.startswith(f"Delete {len(finished)} marked jobs")
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkReportScreen), "the report")
        report = app.screen.report  # type: ignore[attr-defined]
        outcomes = [outcome for _, outcome, _ in report.lines()]
        assert outcomes == ["done"] * allowed + ["rate limited"] * (len(finished) - allowed)
        assert report.retry_after_s is not None
        assert f"try again in {report.retry_after_s:.0f} s" in report.summary()
        records = audit_of(runtime, "job.delete")
        assert sorted(r.outcome for r in records) == sorted(
            ["success"] * allowed + ["rate_limited"]
        )
        assert not any(r.error_code == "CONFIRMATION_REQUIRED" for r in records)
        await pilot.press("escape")
        remaining = len(finished) - allowed
        await wait_for(
            pilot, lambda: len(table(app, "#jobs").keys) == total - allowed, "the deleted gone"
        )
        assert f"marked {remaining}" in text_of(app, "#page-line")  # the rest stay marked


async def test_deleting_a_processing_job_is_refused_before_the_question(
    settings: Settings, runtime: Runtime, seeded: SeedResult
) -> None:
    processing = job_ids(runtime, "processing") or job_ids(runtime, "queued")
    app = AgentOSApp(LocalSource(settings))
    notes = record_notes(app)
    async with app.run_test(size=NARROW) as pilot:
        await _jobs_view(pilot, app, sum(seeded.jobs_by_status.values()))
        await select_row(pilot, app, "#jobs", processing[0])
        await pilot.press("x")
        await wait_for(pilot, lambda: any("dry run was refused" in t for t, _ in notes), "no")
        assert [r.payload["dry_run"] for r in audit_of(runtime, "job.delete")] == [True]


async def test_the_list_is_sorted_on_the_server_across_pages(
    settings: Settings, runtime: Runtime, seeded: SeedResult
) -> None:
    total = sum(seeded.jobs_by_status.values())
    app = AgentOSApp(LocalSource(settings))
    async with app.run_test(size=NARROW) as pilot:
        await _jobs_view(pilot, app, total)
        screen = app.screen
        screen.sort, screen.descending = "title", False  # type: ignore[attr-defined]
        screen._reread()  # type: ignore[attr-defined]
        await wait_for(
            pilot, lambda: "sorted by title, ascending" in text_of(app, "#page-line"), "t"
        )
        titles = column(app, "#jobs", "title")
        await wait_for(
            pilot, lambda: column(app, "#jobs", "title") == sorted(titles, key=str.lower), "asc"
        )
