"""System Logs view on a real deployment (embedded, local): the search runs where the
records are stored, so old matches are found however many newer rows there are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agentos.db.models import LogRecord, SystemEvent
from agentos.schemas.seed import SeedResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.source import LocalSource
from tests.tui.support import audit_of, column, job_ids, select_row, table, wait_for

pytestmark = pytest.mark.asyncio
SIZE = (180, 50)


def _fill(runtime: Runtime, *, job: uuid.UUID) -> None:
    """25 records and events about a full disk, older than 150 others of each."""
    start = datetime.now(UTC) - timedelta(hours=2)
    with runtime.session() as session:
        for number in range(150):
            moment = start + timedelta(minutes=30, seconds=number)
            session.add(
                LogRecord(
                    created_at=moment,
                    level="INFO",
                    logger="agentos.api",
                    message=f"GET /api/jobs/{number} 200",
                    source="server@test:1",
                )
            )
            session.add(
                SystemEvent(
                    created_at=moment, severity="info", source="noise", kind="note", message="hb"
                )
            )
        for number in range(25):
            moment = start + timedelta(seconds=number)
            session.add(
                LogRecord(
                    created_at=moment,
                    level="ERROR",
                    logger="agentos.media",
                    message=f"disk full writing clip {number}",
                    source="worker@test:2",
                    job_id=job if number == 0 else None,
                )
            )
            session.add(
                SystemEvent(
                    created_at=moment,
                    severity="error",
                    source="regress",
                    kind="disk",
                    message=f"disk full {number}",
                )
            )


async def test_old_matches_are_found_on_the_server(
    embedded_settings: Settings, embedded_runtime: Runtime, seeded_embedded: SeedResult
) -> None:
    job = uuid.UUID(job_ids(embedded_runtime, "failed")[0])
    _fill(embedded_runtime, job=job)
    app = AgentOSApp(LocalSource(embedded_settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("logs.search"), "the catalog")
        await pilot.press("4")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 100, "the newest page")
        assert not any("disk full" in text for text in column(app, "#logs", "message"))

        await pilot.press("slash", *"disk full", "enter")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 25, "the 25 matches")
        assert all("disk full" in text for text in column(app, "#logs", "message"))
        await pilot.press("slash", "ctrl+u", *"source:regress", "enter")
        await wait_for(pilot, lambda: len(table(app, "#events").keys) == 25, "the 25 events")
        assert set(column(app, "#events", "source")) == {"regress"}

        def newest_search_source() -> object:
            searches = audit_of(embedded_runtime, "logs.search")
            newest = max(searches, key=lambda record: record.seq)
            return (newest.payload or {}).get("source")

        # The view asks for events and log records at once: the events may show before the
        # log search's action has committed its audit record.
        await wait_for(pilot, lambda: newest_search_source() == "regress", "the audited search")
        searches = audit_of(embedded_runtime, "logs.search")
        assert {record.source for record in searches} == {"tui"}

        await pilot.press("slash", "ctrl+u", *f"job:{job}", "enter")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 1, "the job's record")
        await select_row(pilot, app, "#logs", table(app, "#logs").keys[0])
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, JobDetailScreen) and app.screen.ready,
            "the job's detail",
        )
        await wait_for(pilot, lambda: len(table(app, "#job-logs").keys) >= 1, "its log lines")
        assert "disk full writing clip 0" in column(app, "#job-logs", "message")
