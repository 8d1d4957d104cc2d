"""Issue 16, defects 1, 2 and 9 on the fake source, at 160x48 and 80x24: bulk dangerous
actions are confirmed and done; marks stay until the answer (kept on No, on refusals and
429s, with a per-row report); questions are words after the action's dry run."""

from __future__ import annotations

import pytest

from agentos.tui.app import AgentOSApp
from agentos.tui.screens.reports import BulkReportScreen
from tests.tui.fake import FakeSource, _id
from tests.tui.fake_jobs import RETRY_AFTER_S
from tests.tui.pilots import (
    SIZES,
    answer,
    confirm_dialog,
    fake_app,
    mark,
    open_jobs,
    record_notes,
)
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
FAILED = (str(_id(2)), str(_id(8)))  # failed: deletable, retryable
CANCELLED = str(_id(5))
PROCESSING = str(_id(3))
COMPLETED = str(_id(1))


def _marked(app: AgentOSApp) -> set[str]:
    keys = table(app, "#jobs").keys
    return {key for key, cell in zip(keys, column(app, "#jobs", "✓"), strict=True) if cell}


@SIZES
async def test_bulk_delete_sends_confirm_after_yes_and_deletes(size: tuple[int, int]) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await mark(pilot, app, *FAILED, CANCELLED)
        await pilot.press("x")
        question = await confirm_dialog(pilot, app)
        assert question.startswith("Delete 3 marked jobs with their processing steps")
        assert "This cannot be undone." in question
        assert "{'job_id'" not in question  # words, not a Python dict
        for key in (*FAILED, CANCELLED):
            assert key[:8] in question
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == 9, "three rows gone")
        runs = source.real_runs("job.delete")
        assert sorted(run["job_id"] for run in runs) == sorted((*FAILED, CANCELLED))
        assert all(run["confirm"] is True for run in runs)
        assert _marked(app) == set()
        assert "marked" not in text_of(app, "#page-line")


@SIZES
async def test_marks_survive_no_and_only_done_rows_are_unmarked(size: tuple[int, int]) -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await mark(pilot, app, FAILED[0], COMPLETED)
        await pilot.press("t")
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "n")
        assert _marked(app) == {FAILED[0], COMPLETED}  # No keeps the marks
        assert "marked 2" in text_of(app, "#page-line")
        assert source.runs("job.retry") == []

        await pilot.press("t")
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkReportScreen), "the report")
        report = app.screen
        assert isinstance(report, BulkReportScreen)
        lines = {row[:8]: (outcome, why) for row, outcome, why in report.report.lines()}
        assert lines[FAILED[0][:8]][0] == "done"
        outcome, why = lines[COMPLETED[:8]]
        assert outcome == "refused"
        assert "INVALID_TRANSITION" in why
        await pilot.press("escape")
        await wait_for(pilot, lambda: _marked(app) == {COMPLETED}, "only the refused row marked")
        assert ("1/2 done, 1 refused (those stay marked)", "warning") in notes


@SIZES
async def test_a_429_stops_the_run_and_reports_when_to_try_again(size: tuple[int, int]) -> None:
    source = FakeSource()
    source.jobs_data.limit["job.retry"] = 1
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await mark(pilot, app, *FAILED, CANCELLED)
        await pilot.press("t")
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkReportScreen), "the report")
        report = app.screen.report  # type: ignore[attr-defined]
        outcomes = [outcome for _, outcome, _ in report.lines()]
        assert outcomes == ["done", "rate limited", "rate limited"]
        assert report.retry_after_s == RETRY_AFTER_S
        assert all(why == "try again in 42 s" for _, outcome, why in report.lines()[1:])
        assert "2 rate limited: try again in 42 s" in report.summary()
        assert len(source.runs("job.retry")) == 2  # nothing sent after the 429
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(_marked(app)) == 2, "the rate-limited rows marked")


@SIZES
async def test_escape_clears_the_marks_first_then_the_filter(size: tuple[int, int]) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await pilot.press("slash", *"failed", "enter")
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == 2, "failed only")
        await mark(pilot, app, FAILED[0])
        await pilot.press("escape")
        await wait_for(pilot, lambda: _marked(app) == set(), "marks cleared")
        assert app.screen.filter_text == "failed"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == 12, "the filter cleared")


@SIZES
async def test_delete_asks_in_words_after_its_dry_run_and_a_refusal_asks_nothing(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await select_row(pilot, app, "#jobs", PROCESSING)
        await pilot.press("x")
        await wait_for(pilot, lambda: any("dry run was refused" in t for t, _ in notes), "no")
        [(text, severity)] = [note for note in notes if "dry run was refused" in note[0]]
        assert "JOB_NOT_FINISHED" in text
        assert severity == "error"
        assert source.real_runs("job.delete") == []
        assert source.rehearsals("job.delete") == [{"job_id": PROCESSING, "dry_run": True}]

        await select_row(pilot, app, "#jobs", FAILED[0])
        await pilot.press("x")
        question = await confirm_dialog(pilot, app)
        assert question.startswith("Delete job 00000002  video-002.mp4  (failed) with its")
        assert "dry run: would affect steps 6, clips 2, files 2" in question
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: FAILED[0] not in table(app, "#jobs").keys, "deleted")
        assert source.real_runs("job.delete") == [{"job_id": FAILED[0], "confirm": True}]
        assert ("job 00000002 deleted (6 steps, 2 clips)", "information") in notes
