"""System Logs view (4) on the fake source: the live tail and follow mode, filters searched
on the server (`logs.search`, `events.list`), keyset paging, Enter to a job's detail."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from agentos.errors import RateLimitedError
from agentos.schemas.admin import LogEntry
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.job_detail import JobDetailScreen
from agentos.tui.screens.logs import FOLLOW_S, LogsScreen
from tests.tui.fake import NOW, FakeSource
from tests.tui.fake_logs import job_id
from tests.tui.pilots import SIZE, SIZES, Clock, fake_app, live_event, record_notes, shown_keys
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
JOB = str(job_id(2))


def _reads(source: FakeSource, action: str = "logs.search") -> int:
    return len(source.runs(action))


async def _open(pilot: Pilot[None], app: AgentOSApp, *, logs: int = 3, events: int = 2) -> None:
    await wait_for(pilot, lambda: app.has_action("logs.search"), "the catalog")
    await pilot.press("4")
    await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "the System Logs view")
    await wait_for(pilot, lambda: len(table(app, "#logs").keys) == logs, "the log records")
    await wait_for(pilot, lambda: len(table(app, "#events").keys) == events, "the events")


async def _search(pilot: Pilot[None], text: str) -> None:
    await pilot.press("slash", *text, "enter")


async def _job_screen(pilot: Pilot[None], app: AgentOSApp) -> None:
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, JobDetailScreen) and app.screen.ready,
        "the job's detail",
    )


def _noisy(source: FakeSource, *, matching: int, newer: int) -> None:
    """`matching` records and events about a full disk (source ingest), older than `newer`
    others, and a document whose 50 recent events match nothing."""
    data = source.logs_data
    data.records, data.events = [], []
    for number in range(newer):
        data.add_record("agentos.api", f"GET /api/jobs/{number} 200", age_s=number + 1)
        data.add_event(f"heartbeat {number}", source="worker", age_s=number + 1)
    for number in range(matching):
        age = newer + 10 + number
        data.add_record("agentos.media", f"disk full writing clip {number}", age_s=age)
        data.add_event(f"disk full on ingest {number}", source="ingest", age_s=age)
    logs = source.document.logs
    base = logs.recent_events[0]
    logs.recent_events = [
        LogEntry.model_validate(
            base.model_dump() | {"message": f"heartbeat {n}", "source": "worker", "created_at": NOW}
        )
        for n in range(50)
    ]
    logs.recent_errors = []


async def test_four_shows_the_newest_log_records_events_and_audit() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        assert column(app, "#logs", "level") == ["INFO", "ERROR", "INFO"]
        assert column(app, "#logs", "source") == ["server", "worker", "worker"]
        assert column(app, "#logs", "job") == ["-", JOB[:8], "-"]
        assert column(app, "#logs", "trace") == ["-", "-", "t-42"]
        assert column(app, "#logs", "message")[1] == "clipper failed: no scenes"
        assert column(app, "#events", "severity") == ["error", "info"]
        assert column(app, "#events", "job") == [JOB[:8], "-"]
        assert "following" in text_of(app, "#logs-state")
        assert "showing everything" in text_of(app, "#logs-state")
        assert source.runs("logs.search") == [{"limit": 100}]
        assert source.runs("events.list") == [{"limit": 100}]
        assert source.runs("audit.search") == [{"query": None, "trace_id": None}]
        assert {"Follow", "Level", "Older", "Ack event", "Reload"} <= shown_keys(app)


async def test_a_search_runs_on_the_server_not_over_the_rows_shown() -> None:
    """Regression: `/` used to filter the newest 50 events on the client, so 25 matching
    older ones showed as an empty table."""
    source = FakeSource()
    _noisy(source, matching=25, newer=200)
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, logs=100, events=100)
        assert not any("disk full" in text for text in column(app, "#logs", "message"))

        await _search(pilot, "disk full")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 25, "25 records")
        assert all("disk full" in text for text in column(app, "#logs", "message"))
        assert source.runs("logs.search")[-1] == {"limit": 100, "query": "disk full"}
        await wait_for(pilot, lambda: len(table(app, "#events").keys) == 25, "25 events")
        assert "matched within the newest 500" in text_of(app, "#events-note")
        assert source.runs("audit.search")[-1] == {"query": "disk full", "trace_id": None}

        await _search(pilot, "source:ingest")
        await wait_for(pilot, lambda: source.runs("events.list")[-1].get("source"), "the read")
        await wait_for(pilot, lambda: len(table(app, "#events").keys) == 25, "ingest events")
        assert source.runs("events.list")[-1] == {"limit": 100, "source": "ingest"}
        assert set(column(app, "#events", "source")) == {"ingest"}
        assert text_of(app, "#events-note") == ""

        await _search(pilot, "level:warn source:work trace:t-9 job:" + JOB + " timeout")
        await wait_for(pilot, lambda: "no log records match" in text_of(app, "#logs-note"), "0")
        assert source.runs("logs.search")[-1] == {
            "limit": 100,
            "level": "WARNING",
            "source": "work",
            "trace_id": "t-9",
            "job_id": JOB,
            "query": "timeout",
        }
        assert source.runs("events.list")[-1] == {
            "limit": 500,
            "source": "work",
            "trace_id": "t-9",
            "job_id": JOB,
        }
        assert "level ≥ WARNING · source work*" in text_of(app, "#logs-state")


async def test_a_bad_filter_is_refused_and_the_last_one_kept() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await _search(pilot, "level:error")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 1, "errors only")
        reads = _reads(source)
        await _search(pilot, "job:1234xyz level:loud")
        await wait_for(
            pilot, lambda: any("job: a job id or its first" in t for t, _ in notes), "error"
        )
        assert _reads(source) == reads
        assert text_of(app, "#filter-state") == "filter: level:error"
        assert "level ≥ ERROR" in text_of(app, "#logs-state")


@SIZES
async def test_a_short_job_id_is_resolved_for_the_search(size: tuple[int, int]) -> None:
    """Issue 16 (defect 8): `job:` takes the short id the TUI shows; y copies the full one."""
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await _open(pilot, app)
        await _search(pilot, "job:00000002")
        await wait_for(pilot, lambda: source.runs("logs.search")[-1].get("job_id") == JOB, "j")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 1, "its records")
        table(app, "#logs").focus()
        await pilot.press("y")
        assert app.clipboard == JOB


async def test_follow_reads_the_newest_records_and_f_stops_it(moved_clock: Clock) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await pilot.pause(0.5)  # several document refreshes: not due yet
        assert _reads(source) == 1
        source.logs_data.add_record("agentos.worker", "stage thumbs done", age_s=0)
        moved_clock.now += FOLLOW_S + 0.1
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 4, "the new record")
        assert column(app, "#logs", "message")[0] == "stage thumbs done"
        assert _reads(source) == 2

        await pilot.press("f")
        await wait_for(pilot, lambda: "not following" in text_of(app, "#logs-state"), "paused")
        source.logs_data.add_record("agentos.worker", "stage publish done", age_s=0)
        moved_clock.now += 10 * FOLLOW_S
        await pilot.pause(0.5)
        assert _reads(source) == 2
        assert len(table(app, "#logs").keys) == 4

        await pilot.press("f")  # follows again at once, from the newest page
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 5, "caught up")
        assert _reads(source) == 3
        assert "● following" in text_of(app, "#logs-state")

        # A new event announced live reads the events (not faster than the gap).
        events = _reads(source, "events.list")
        source.logs_data.add_event("operator note", age_s=0)
        moved_clock.now += 3
        await live_event(source, {"kind": "event.created", "source": "operator"})
        await wait_for(pilot, lambda: len(table(app, "#events").keys) == 3, "the event")
        assert _reads(source, "events.list") == events + 1


async def test_older_pages_continue_from_the_cursor() -> None:
    source = FakeSource()
    data = source.logs_data
    data.records = []
    for number in range(230):
        data.add_record("agentos.api", f"request {number}", age_s=number + 1)
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, logs=100)
        assert "; ] reads older ones" in text_of(app, "#logs-title")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 200, "the second page")
        first_cursor = source.runs("logs.search")[-1]["before"]
        assert first_cursor.endswith(str(data.records[99].id))
        assert "not following" in text_of(app, "#logs-state")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 230, "the last page")
        assert column(app, "#logs", "message")[-1] == "request 229"
        assert "] reads older" not in text_of(app, "#logs-title")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: ("no older records match", "information") in notes, "end")
        assert _reads(source) == 3


async def test_l_steps_the_level_filter() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        await pilot.press("l")
        await wait_for(pilot, lambda: source.runs("logs.search")[-1].get("level") == "INFO", "1")
        await pilot.press("l")
        await wait_for(pilot, lambda: len(table(app, "#logs").keys) == 1, "warning and up")
        assert source.runs("logs.search")[-1] == {"limit": 100, "level": "WARNING"}
        assert column(app, "#events", "severity") == ["error"]  # matched here: ≥ warning
        assert text_of(app, "#filter-state") == "filter: level:warning"


async def test_enter_on_a_line_about_a_job_opens_it_with_its_events_and_logs() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        keys = table(app, "#logs").keys
        await select_row(pilot, app, "#logs", keys[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("this line is not about a job", "information") in notes, "")
        assert isinstance(app.screen, LogsScreen)

        await select_row(pilot, app, "#logs", keys[1])
        await pilot.press("enter")
        await _job_screen(pilot, app)
        assert isinstance(app.screen, JobDetailScreen)
        assert str(app.screen.job_id) == JOB
        await wait_for(pilot, lambda: "video-002.mp4" in text_of(app, "#job-summary"), "detail")
        await wait_for(pilot, lambda: len(table(app, "#job-logs").keys) == 1, "its log lines")
        await wait_for(pilot, lambda: len(table(app, "#job-events").keys) == 1, "its events")
        assert source.runs("logs.search")[-1] == {"job_id": JOB, "limit": 100}
        assert source.runs("events.list")[-1] == {"job_id": JOB, "limit": 100}
        assert column(app, "#job-logs", "message") == ["clipper failed: no scenes"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "back")

        await select_row(pilot, app, "#events", table(app, "#events").keys[0])
        await pilot.press("enter")
        await _job_screen(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "back again")


async def test_enter_on_a_dashboard_alert_opens_its_job() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(table(app, "#alerts").keys) == 1, "the alert")
        table(app, "#alerts").focus()
        await pilot.press("enter")
        await _job_screen(pilot, app)
        assert isinstance(app.screen, JobDetailScreen)
        assert str(app.screen.job_id) == JOB


async def test_the_job_trail_is_read_when_due_not_on_every_refresh(moved_clock: Clock) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the document")
        detail = JobDetailScreen(job_id(2))
        app.push_screen(detail)
        await wait_for(pilot, lambda: detail.ready, "the job's screen")
        await wait_for(pilot, lambda: len(table(app, "#job-logs").keys) == 1, "the log lines")
        await pilot.pause(0.5)
        assert _reads(source) == _reads(source, "events.list") == 1
        await live_event(source, {"kind": "job.status", "job_id": JOB, "status": "failed"})
        await pilot.pause(0.3)
        assert _reads(source) == 1  # read just now
        moved_clock.now += 4
        await live_event(source, {"kind": "job.status", "job_id": JOB, "status": "queued"})
        await wait_for(pilot, lambda: _reads(source) == 2, "a change to the job")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: _reads(source) == 3, "^r")


async def test_a_rate_limited_search_keeps_the_last_rows(moved_clock: Clock) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        source.logs_data.fail["logs.search"] = RateLimitedError(
            "50 requests per 60 s for logs.search", retry_after_s=30, code="RATE_LIMITED"
        )
        moved_clock.now += FOLLOW_S + 0.1
        await wait_for(pilot, lambda: "rate limited" in text_of(app, "#logs-note"), "the 429")
        assert "(showing the last read)" in text_of(app, "#logs-note")
        assert len(table(app, "#logs").keys) == 3
        del source.logs_data.fail["logs.search"]
        moved_clock.now += FOLLOW_S + 0.1  # not yet: the server said 30 s
        await pilot.pause(0.3)
        assert _reads(source) == 2
        moved_clock.now += 30
        await wait_for(pilot, lambda: text_of(app, "#logs-note") == "", "the next read")
