"""Issue 16, what operators expect, on the fake source at 160x48 and 80x24: the Failures
view (failed jobs by error code, retry all of a code, retries with their next attempt),
the job detail (full error that scrolls, no empty clip table, y copies, Enter on an alert
opens its job) and per-agent figures in Analytics, charts with a time axis. The figures
are the core's exact counts (`Source.figures`); tests/tui/test_figures_backends.py shows
them on both real backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Sparkline

from agentos.schemas.figures import AgentFigures, AgentHour, AgentSeries, RetryWaiting
from agentos.schemas.jobs import JobRead, JobStatus
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.failures import FailuresScreen
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.screens.reports import BulkReportScreen, TextScreen
from agentos.tui.widgets.charts import TimeAxis
from tests.tui.fake import NOW, FakeSource, _id
from tests.tui.pilots import SIZES, answer, confirm_dialog, fake_app
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
LONG_ERROR = "clipper: ffmpeg exited 1\n" + "\n".join(f"frame {n}: bad packet" for n in range(60))


def _failed(source: FakeSource, number: int, code: str | None, **fields: Any) -> str:
    job = JobRead.model_validate(
        {
            **source.job_list[0].model_dump(),
            "id": _id(100 + number),
            "title": f"broken-{number}.mp4",
            "status": JobStatus.failed,
            "error": f"{code or 'odd'} happened",
            "error_code": code,
            "current_stage": "clipper",
            "finished_at": NOW - timedelta(minutes=number),
            **fields,
        }
    )
    source.job_list.append(job)
    return str(job.id)


async def _failures(pilot: Any, app: AgentOSApp) -> None:
    await wait_for(pilot, lambda: app.has_action("job.retry"), "the catalog")
    await pilot.press("9")
    await wait_for(pilot, lambda: isinstance(app.screen, FailuresScreen), "the Failures view")


@SIZES
async def test_failed_jobs_are_grouped_by_code_and_a_group_is_retried(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    timeouts = [_failed(source, n, "FFMPEG_TIMEOUT") for n in range(3)]
    _failed(source, 9, "PROBE_FAILED")
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await _failures(pilot, app)
        await wait_for(pilot, lambda: len(table(app, "#groups").keys) == 3, "three codes")
        assert column(app, "#groups", "error code") == [
            "FFMPEG_TIMEOUT",
            "(no code)",
            "PROBE_FAILED",
        ]
        assert column(app, "#groups", "jobs") == ["3", "2", "1"]
        assert column(app, "#groups", "last hour") == ["3", "2", "1"]
        assert "6 failed jobs in 3 error codes" in text_of(app, "#failures-state")
        assert "exact counts" in text_of(app, "#failures-state")
        await wait_for(pilot, lambda: sorted(table(app, "#group-jobs").keys) == sorted(timeouts),
                       "the group's jobs")  # fmt: skip

        await pilot.press("t")
        question = await confirm_dialog(pilot, app)
        assert question.startswith("Queue 3 failed jobs with FFMPEG_TIMEOUT again")
        assert all(job[:8] in question for job in timeouts)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: len(source.real_runs("job.retry")) == 3, "three retries")
        assert {run["job_id"] for run in source.real_runs("job.retry")} == set(timeouts)
        await wait_for(pilot, lambda: "FFMPEG_TIMEOUT" not in table(app, "#groups").keys, "gone")
        assert not isinstance(app.screen, BulkReportScreen)  # every row done: no report

        # Enter lists the group's jobs (read for the group under the cursor), Enter again
        # opens one.
        await select_row(pilot, app, "#groups", "PROBE_FAILED")
        await wait_for(pilot, lambda: table(app, "#group-jobs").keys == [str(_id(109))], "its job")
        assert "Jobs of PROBE_FAILED (1)" in str(app.screen.query_one("#group-title").content)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.focused is table(app, "#group-jobs"), "jobs")
        await pilot.press("y")
        assert app.clipboard == str(_id(109))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen), "the job")


@SIZES
async def test_retries_list_their_next_attempt_time(size: tuple[int, int]) -> None:
    source = FakeSource()
    waiting = source.job_list[3]
    source.figures_data.retries = [
        RetryWaiting(
            step_id=_id(7000),
            job_id=waiting.id,
            title=waiting.title,
            agent="scenes",
            attempt=2,
            max_attempts=3,
            next_attempt_at=NOW + timedelta(seconds=47),
            last_error="out of memory",
            last_error_code="SCENES_OOM",
            last_status="failed",
        )
    ]
    source.figures_data.retries_waiting = 140  # more wait than the core lists
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await _failures(pilot, app)
        await wait_for(pilot, lambda: table(app, "#retries").keys == [str(waiting.id)], "retry")
        assert column(app, "#retries", "next attempt") == ["12:00:47 (in 45s)"]
        assert column(app, "#retries", "attempt") == ["2/3"]
        assert column(app, "#retries", "stage") == ["scenes"]
        if "last error" in table(app, "#retries").column_names:
            assert column(app, "#retries", "last error") == ["SCENES_OOM: out of memory"]
        title = str(app.screen.query_one("#retries-title").content)
        assert "140 in all, the soonest 1 of 140 listed" in title
        assert "140 attempts waiting for a retry (0 due)" in text_of(app, "#failures-state")


@SIZES
async def test_the_job_detail_shows_the_whole_error_and_no_empty_clip_table(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    broken = _failed(source, 1, "FFMPEG_EXIT", error=LONG_ERROR)
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.has_action("job.retry"), "the catalog")
        app.push_screen(JobDetailScreen(_id(101)))
        await wait_for(pilot, lambda: getattr(app.screen, "ready", False), "the job detail")
        await wait_for(pilot, lambda: "frame 59" in text_of(app, "#job-error"), "the error")
        assert not table(app, "#clips").display
        assert text_of(app, "#clips-note") == "no clips"
        await pilot.press("y")
        assert app.clipboard == broken
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "the full error")
        scroll = app.screen.query_one("#text-scroll")
        assert scroll.max_scroll_y > 0  # longer than the screen: it scrolls
        await pilot.press("end")
        await wait_for(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, "scrolled")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen), "back")


@SIZES
async def test_enter_on_an_alert_opens_its_job(size: tuple[int, int]) -> None:
    app = fake_app(FakeSource())
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: len(table(app, "#alerts").keys) == 1, "the alert")
        table(app, "#alerts").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen), "its job")
        assert app.screen.job_id == _id(2)  # type: ignore[attr-defined]


def _series(agent: str, hours: dict[int, tuple[int, int, float | None]]) -> AgentSeries:
    """24 hours ending 12:00 UTC; `hours` {hours ago: (completed, failed, p95 ms)}."""
    points = [
        AgentHour(
            hour=NOW - timedelta(hours=23 - n),
            completed=hours.get(23 - n, (0, 0, None))[0],
            failed=hours.get(23 - n, (0, 0, None))[1],
            mean_ms=None,
            p50_ms=None,
            p95_ms=hours.get(23 - n, (0, 0, None))[2],
        )
        for n in range(24)
    ]
    completed = sum(point.completed for point in points)
    failed = sum(point.failed for point in points)
    return AgentSeries(agent=agent, completed=completed, failed=failed, mean_ms=None,
                       p50_ms=900.0, p95_ms=1480.0, hours=points)  # fmt: skip


@SIZES
async def test_analytics_charts_have_time_axes_and_per_agent_figures(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    source.figures_data.agents = AgentFigures(
        hours=24,
        since=NOW - timedelta(hours=23),
        agents=[
            _series("ingest", {0: (1, 0, 100.0)}),
            _series("scenes", {0: (1200, 0, 1500.0), 2: (0, 300, None), 3: (600, 600, 900.0)}),
        ],
    )
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await pilot.press("5")
        await wait_for(pilot, lambda: len(table(app, "#agent-figures").keys) == 2, "per agent")
        row = dict(zip(table(app, "#agent-figures").column_names,
                       table(app, "#agent-figures").get_row("scenes"), strict=True))  # fmt: skip
        assert (row["steps"], row["failed"], row["fail %"], row["p50 ms"], row["p95 ms"]) == (
            "2700",
            "900",
            "33%",
            "900",
            "1480",
        )
        # One character per hour, 13:00 (yesterday) .. 12:00: done 600 at 09:00, 1200 at 12:00.
        assert row["done / h"] == " " * 20 + "▄  █"
        if "fail % / h" in row:
            assert row["fail % / h"] == "·" * 20 + "▄█· "  # 50 % at 09:00, all at 10:00
        axis = app.screen.query_one("#axis-completed", TimeAxis)
        await wait_for(pilot, lambda: axis.text.startswith("01:00 UTC"), "the time axis")
        assert axis.text.rstrip().endswith("12:00")
        spark = app.screen.query_one("#spark-completed", Sparkline)
        assert axis.region.width == spark.region.width
        title = str(app.screen.query_one("#agents-title").content)
        assert "every step finished in the last 24 h (exact)" in title
        assert "13:00 → 12:00 UTC" in title
        assert "not a sample" in text_of(app, "#agents-note")
        assert source.figures_data.asked[-1] == (("agents",), None)
