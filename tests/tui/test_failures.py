"""Issue 16, what operators expect, on the fake source at 160x48 and 80x24: the Failures
view (failed jobs by error code, retry all of a code, retries with their next attempt),
the job detail (full error that scrolls, no empty clip table, y copies, Enter on an alert
opens its job) and per-agent figures in Analytics, charts with a time axis."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Sparkline

from agentos.schemas.jobs import JobDetail, JobRead, JobStatus, StepRead
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


def _step(job: JobRead, agent: str, status: str, *, ms: float, ago_min: float) -> StepRead:
    finished = NOW - timedelta(minutes=ago_min)
    return StepRead(
        id=_id(5000 + len(agent) * 100 + int(ago_min)),
        job_id=job.id,
        agent=agent,
        attempt=1,
        status=status,
        priority=0,
        progress=1.0,
        created_at=finished - timedelta(milliseconds=ms),
        started_at=finished - timedelta(milliseconds=ms),
        finished_at=finished,
        duration_ms=ms,
    )


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
        assert "6 failed jobs in 3 error codes" in text_of(app, "#failures-state")
        assert sorted(table(app, "#group-jobs").keys) == sorted(timeouts)

        await pilot.press("t")
        question = await confirm_dialog(pilot, app)
        assert question.startswith("Queue 3 failed jobs with FFMPEG_TIMEOUT again")
        assert all(job[:8] in question for job in timeouts)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: len(source.real_runs("job.retry")) == 3, "three retries")
        assert {run["job_id"] for run in source.real_runs("job.retry")} == set(timeouts)
        await wait_for(pilot, lambda: "FFMPEG_TIMEOUT" not in table(app, "#groups").keys, "gone")
        assert not isinstance(app.screen, BulkReportScreen)  # every row done: no report

        # Enter lists the group's jobs, Enter again opens one.
        await select_row(pilot, app, "#groups", "PROBE_FAILED")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.focused is table(app, "#group-jobs"), "jobs")
        await pilot.press("y")
        assert app.clipboard == str(_id(109))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen), "the job")


@SIZES
async def test_retries_list_their_next_attempt_time(size: tuple[int, int]) -> None:
    source = FakeSource()
    waiting = source.job_list[3].model_copy(update={"attempts": 2, "current_stage": "scenes"})
    source.job_list[3] = waiting
    step = _step(waiting, "scenes", "queued", ms=0, ago_min=0).model_copy(
        update={"attempt": 2, "created_at": NOW + timedelta(seconds=47), "finished_at": None}
    )
    source.details[waiting.id] = JobDetail.model_validate(
        {**waiting.model_dump(), "steps": [step.model_dump()]}
    )
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await _failures(pilot, app)
        await wait_for(pilot, lambda: table(app, "#retries").keys == [str(waiting.id)], "retry")
        assert column(app, "#retries", "next attempt") == ["12:00:47 (in 45s)"]
        assert column(app, "#retries", "attempt") == ["2/3"]


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


@SIZES
async def test_analytics_charts_have_time_axes_and_per_agent_figures(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    done = source.job_list[0]
    source.details[done.id] = JobDetail.model_validate(
        {
            **done.model_dump(),
            "steps": [
                _step(done, "ingest", "completed", ms=100, ago_min=5).model_dump(),
                _step(done, "scenes", "completed", ms=900, ago_min=4).model_dump(),
                _step(done, "scenes", "failed", ms=300, ago_min=130).model_dump(),
            ],
        }
    )
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await pilot.press("5")
        await wait_for(pilot, lambda: len(table(app, "#agent-figures").keys) == 2, "per agent")
        row = dict(zip(table(app, "#agent-figures").column_names,
                       table(app, "#agent-figures").get_row("scenes"), strict=True))  # fmt: skip
        assert (row["steps"], row["failed"], row["fail %"], row["p50 ms"]) == (
            "2",
            "1",
            "50%",
            "900",
        )
        assert len(row["done / h"]) == 12
        # One character per hour, 01:00 .. 12:00: done at 11:56 (11:00), failed at 09:50.
        assert row["done / h"] == " " * 10 + "█ "
        if "fail % / h" in row:
            assert row["fail % / h"] == "·" * 8 + "█· ·"  # 0 % at 11:00
        axis = app.screen.query_one("#axis-completed", TimeAxis)
        await wait_for(pilot, lambda: axis.text.startswith("01:00 UTC"), "the time axis")
        assert axis.text.rstrip().endswith("12:00")
        spark = app.screen.query_one("#spark-completed", Sparkline)
        assert axis.region.width == spark.region.width
        assert "steps of the newest" in str(app.screen.query_one("#agents-title").content)
