"""Issue 16, defects 4, 7, 8, 13 and 15 (Jobs list) on the fake source, at 160x48 and
80x24: the cursor after a filter, j/k/g/G, server-side sort by any column (header click,
s, S) with an indicator, copyable unique short ids, the empty state, age and stage."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey

from agentos.tui.app import AgentOSApp
from agentos.tui.widgets.table import Col, KeyedTable
from tests.tui.fake import FakeSource, fake_jobs
from tests.tui.pilots import NARROW, SIZES, fake_app, open_jobs
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio


def _last_query(source: FakeSource) -> dict[str, Any]:
    return [payload for name, payload in source.calls if name == "jobs"][-1]


def _header_x(app: AgentOSApp, name: str) -> int:
    found = table(app, "#jobs")
    x = 0
    for shown in found.ordered_columns:
        if str(shown.key.value) == name:
            return x + 1
        x += shown.get_render_width(found)
    raise AssertionError(f"no column {name}")


@SIZES
async def test_the_cursor_starts_at_the_top_after_a_filter_and_vim_keys_move_it(
    size: tuple[int, int],
) -> None:
    app = fake_app(FakeSource())
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        jobs = table(app, "#jobs")
        jobs.focus()
        await pilot.press("G")
        assert jobs.cursor_row == 11
        await pilot.press("k", "k")
        assert jobs.cursor_row == 9
        await pilot.press("g", "j")
        assert jobs.cursor_row == 1
        await pilot.press("G", "slash", *"failed", "enter")
        await wait_for(pilot, lambda: len(jobs.keys) == 2, "failed only")
        assert jobs.cursor_row == 0
        await pilot.press("space")  # marks the first row once, not the last one thrice
        assert column(app, "#jobs", "✓") == ["✓", ""]


@SIZES
async def test_header_click_s_and_s_sort_on_the_server_with_an_indicator(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await pilot.click("#jobs", offset=(_header_x(app, "title"), 0))
        await wait_for(pilot, lambda: _last_query(source)["sort"] == "title", "sorted by title")
        assert _last_query(source)["order"] == "asc"
        await wait_for(
            pilot, lambda: column(app, "#jobs", "title")[0] == "video-001.mp4", "the new order"
        )
        assert "title ▲" in str(table(app, "#jobs").columns[ColumnKey("title")].label)
        await pilot.click("#jobs", offset=(_header_x(app, "title"), 0))
        await wait_for(pilot, lambda: _last_query(source)["order"] == "desc", "reversed")
        await wait_for(
            pilot, lambda: column(app, "#jobs", "title")[0] == "video-012.mp4", "reversed rows"
        )
        assert "sorted by title, descending" in text_of(app, "#page-line")

        await pilot.press("s")  # the next field: progress
        await wait_for(pilot, lambda: _last_query(source)["sort"] == "progress", "s")
        await pilot.press("S")
        await wait_for(pilot, lambda: _last_query(source)["order"] == "asc", "S reverses")
        assert "progress ▲" in str(table(app, "#jobs").columns[ColumnKey("progress")].label)


async def test_sorting_is_across_pages_not_within_one() -> None:
    source = FakeSource()
    source.job_list[:] = fake_jobs(250)
    app = fake_app(source)
    async with app.run_test(size=NARROW) as pilot:
        await open_jobs(pilot, app, count=100)
        await pilot.click("#jobs", offset=(_header_x(app, "title"), 0))
        await wait_for(pilot, lambda: column(app, "#jobs", "title")[0] == "video-001.mp4", "asc")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "page 2/3" in text_of(app, "#page-line"), "page 2")
        everything = sorted(job.title for job in source.job_list)
        assert column(app, "#jobs", "title") == [title[:24] for title in everything[100:200]]
        assert table(app, "#jobs").cursor_row == 0


async def test_pages_are_walked_with_the_servers_cursors_and_a_refresh_keeps_the_page() -> None:
    """Issue 19: ] and [ send the page's next/prev cursor (never a page number, which
    costs an OFFSET over every job before it); a change re-reads the same page; a new
    order starts again at the first page."""
    source = FakeSource()
    source.job_list[:] = fake_jobs(250)
    app = fake_app(source)
    async with app.run_test(size=NARROW) as pilot:
        await open_jobs(pilot, app, count=100)
        assert _last_query(source)["cursor"] is None
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "page 2/3" in text_of(app, "#page-line"), "page 2")
        assert _last_query(source)["cursor"] == "at:100"
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "page 3/3" in text_of(app, "#page-line"), "page 3")
        await pilot.press("right_square_bracket")  # the last page has no next cursor
        await pilot.pause()
        assert _last_query(source)["cursor"] == "at:200"
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: "page 2/3" in text_of(app, "#page-line"), "back")
        assert _last_query(source)["cursor"] == "at:100"
        asked = len(source.calls)
        app.screen.on_change({"type": "job.created"})  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: len(source.calls) > asked, "the refresh")
        assert _last_query(source)["cursor"] == "at:100"
        await pilot.press("s")
        await wait_for(pilot, lambda: "page 1/3" in text_of(app, "#page-line"), "new order")
        assert _last_query(source)["cursor"] is None


@SIZES
async def test_y_copies_the_full_id_and_shown_ids_are_unique_prefixes(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    twins = [uuid.UUID("be1ce8cf-0000-4000-8000-000000000001"),
             uuid.UUID("be1ce8cf-9999-4000-8000-000000000002")]  # fmt: skip
    for job, twin in zip(source.job_list[:2], twins, strict=True):
        source.job_list[source.job_list.index(job)] = job.model_copy(update={"id": twin})
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        shown = column(app, "#jobs", "id")
        assert shown[:2] == ["be1ce8cf-0", "be1ce8cf-9"]
        assert shown[2] == "00000003"
        await select_row(pilot, app, "#jobs", str(twins[1]))
        await pilot.press("y")
        assert app.clipboard == str(twins[1])
        # A pasted short id filters by id prefix on the server.
        await pilot.press("slash", *"be1ce8cf-9", "enter")
        await wait_for(pilot, lambda: table(app, "#jobs").keys == [str(twins[1])], "that job")
        assert _last_query(source)["id_prefix"] == "be1ce8cf-9"


@SIZES
async def test_age_is_since_creation_and_finished_jobs_say_done(size: tuple[int, int]) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        ages = column(app, "#jobs", "age")
        assert ages[0] == "10m"  # created 10 min ago, updated 5 s ago
        assert column(app, "#jobs", "stage")[:3] == ["done", "-", "scenes"]


@SIZES
async def test_the_empty_state_never_recommends_a_wipe_without_saying_so(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    source.job_list.clear()
    source.document.dashboard.total_jobs = 0
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "agentos jobs submit" in text_of(app, "#empty"), "dash")
        dashboard = text_of(app, "#empty")
        assert "ERASES everything" in dashboard
        await open_jobs(pilot, app, count=0)
        await wait_for(pilot, lambda: "agentos jobs submit" in text_of(app, "#empty"), "jobs")
        assert "ERASES everything" in text_of(app, "#empty")

        # A migrated database without its agents: migrate, not reset-and-seed.
        source.document.dashboard.agents_total = 0
        source.document.dashboard.agents_enabled = 0
        await pilot.press("1")
        await wait_for(pilot, lambda: "agentos db migrate" in text_of(app, "#empty"), "agents")
        assert "reset-and-seed" not in text_of(app, "#empty")
        assert "agents none: run `agentos db migrate`" in text_of(app, "#summary") + text_of(
            app, "#tile-fleet"
        )


class _TableApp(App[None]):
    def __init__(self, early: list[tuple[str, tuple[str, ...]]]) -> None:
        super().__init__()
        self.early = early

    def compose(self) -> ComposeResult:
        found = KeyedTable([Col("when"), Col("source")], id="t")
        found.sync(self.early)  # rows before the table is mounted (a first launch)
        yield found


async def test_columns_fit_rows_synced_early_and_widen_when_a_cell_grows() -> None:
    app = _TableApp([("a", ("2026-01-01 12:00:00", "scheduler"))])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        found = app.query_one(KeyedTable)
        widths = {str(c.key.value): c.get_render_width(found) for c in found.ordered_columns}
        assert widths["when"] >= len("2026-01-01 12:00:00")
        assert widths["source"] >= len("scheduler")
        found.sync([("a", ("2026-01-01 12:00:00", "scheduler of every backup"))])
        await pilot.pause()
        source = found.columns[ColumnKey("source")]
        assert source.get_render_width(found) >= len("scheduler of every backup")


@SIZES
async def test_an_agent_state_changed_in_place_widens_its_column(size: tuple[int, int]) -> None:
    source = FakeSource()
    for agent in source.document.agents_workers.agents:
        agent.state, agent.enabled = "idle", True
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await pilot.press("3")
        await wait_for(pilot, lambda: len(table(app, "#agents").keys) == 6, "the agents")
        source.document.agents_workers.agents[0].state = "disabled"
        await wait_for(pilot, lambda: column(app, "#agents", "state")[0] == "disabled", "stop")
        await pilot.pause()
        agents = table(app, "#agents")
        assert agents.columns[ColumnKey("state")].get_render_width(agents) >= len("disabled") + 2
