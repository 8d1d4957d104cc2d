"""The dashboard in local mode on both deployments, driven with Textual's pilot."""

from __future__ import annotations

import uuid

import pytest

from agentos.schemas.seed import SeedResult
from agentos.services import jobs
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.screens.jobs import JobsScreen
from agentos.tui.source import LocalSource
from tests.tui.support import (
    STAFF,
    audit_of,
    column,
    job_ids,
    job_status,
    select_row,
    table,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.asyncio
SIZE = (180, 50)


@pytest.mark.usefixtures("seeded")
async def test_every_view_shows_the_seeded_figures(settings: Settings, seeded: SeedResult) -> None:
    app = AgentOSApp(LocalSource(settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the first snapshot")
        total = sum(seeded.jobs_by_status.values())
        assert text_of(app, "#tile-jobs").startswith(f"Jobs {total}")
        for status, count in seeded.jobs_by_status.items():
            assert f"{status} {count}" in text_of(app, "#tile-jobs")
        assert "local" in text_of(app, "#status")

        await pilot.press("2")
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == total, "the jobs page")
        assert f"{total} jobs" in text_of(app, "#page-line")

        await pilot.press("3")
        await wait_for(pilot, lambda: len(table(app, "#agents").keys) == 6, "six agents")
        assert column(app, "#agents", "agent")[0] == "ingest"

        await pilot.press("4")
        await wait_for(pilot, lambda: len(table(app, "#events").keys) > 0, "events")
        severities = set(column(app, "#events", "severity"))
        assert severities <= set(seeded.events_by_severity)

        await pilot.press("5")
        await wait_for(pilot, lambda: len(table(app, "#hours").keys) > 0, "analytics hours")
        document = app.snapshot.document if app.snapshot else None
        assert document is not None
        assert f"created {document.analytics.created}" in text_of(app, "#totals")

        await pilot.press("6")
        await wait_for(pilot, lambda: len(table(app, "#settings").keys) > 0, "settings")
        values = dict(
            zip(column(app, "#settings", "setting"), column(app, "#settings", "value"), strict=True)
        )
        assert values["deployment"] in ("embedded", "distributed")
        assert values["secret_key"] in ("****", "-")


async def test_filter_drill_down_and_back_keeps_the_filter(
    settings: Settings, runtime: Runtime, seeded: SeedResult
) -> None:
    failed = seeded.jobs_by_status["failed"]
    app = AgentOSApp(LocalSource(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) > 0, "the jobs page")
        await pilot.press("slash", *"failed", "enter")
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == failed, "failed jobs only")
        assert set(column(app, "#jobs", "status")) == {"failed"}

        chosen = table(app, "#jobs").keys[0]
        await select_row(pilot, app, "#jobs", chosen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen), "the job detail")
        await wait_for(pilot, lambda: chosen in text_of(app, "#job-summary"), "the job's summary")
        with runtime.session() as session:
            detail = jobs.get_detail(session, job_id=uuid.UUID(chosen), actor=STAFF)
        await wait_for(
            pilot, lambda: len(table(app, "#steps").keys) == len(detail.steps), "its steps"
        )
        assert len(table(app, "#clips").keys) == len(detail.clips)

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), "back to the list")
        assert app.screen.filter_text == "failed"  # type: ignore[attr-defined]
        assert table(app, "#jobs").current_key == chosen


async def test_cancel_from_the_tui_is_done_and_audited_and_live_changes_keep_the_cursor(
    settings: Settings, runtime: Runtime, seeded: SeedResult
) -> None:
    queued = job_ids(runtime, "queued")
    assert len(queued) >= 2
    target, other = queued[0], queued[1]
    app = AgentOSApp(LocalSource(settings), refresh_s=60)  # only live events refresh
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: target in table(app, "#jobs").keys, "the jobs page")
        await wait_for(pilot, lambda: app.header.connection == "live", "the live feed")
        await select_row(pilot, app, "#jobs", target)
        await pilot.press("c")
        await wait_for(pilot, lambda: job_status(runtime, target) == "cancelled", "the cancel")
        records = audit_of(runtime, "job.cancel")
        assert [(r.outcome, r.source, r.payload) for r in records] == [
            ("success", "tui", {"job_id": target, "reason": None})
        ]

        # A change made elsewhere shows up live; the cursor stays on its row.
        with runtime.session() as session:
            jobs.cancel(session, job_id=uuid.UUID(other), actor=STAFF)
        row = table(app, "#jobs").keys.index(other)

        def shown_cancelled() -> bool:
            return column(app, "#jobs", "status")[row] == "cancelled"

        await wait_for(pilot, shown_cancelled, "the other job's change")
        assert table(app, "#jobs").current_key == target
