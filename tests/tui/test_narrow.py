"""Issue 16, defects 5 and 6 on the fake source: at 80x24 the header puts state first,
the dashboard keeps every figure, every footer shows ? and q, the help fits and narrow
tables drop wide columns; pause says so everywhere (no green dot, the footer offers
Resume)."""

from __future__ import annotations

import pytest

from agentos.tui.app import AgentOSApp
from agentos.tui.keymap import VIEWS
from agentos.tui.screens.modals import HelpScreen
from tests.tui.fake import FakeSource
from tests.tui.pilots import NARROW, SIZE, SIZES, fake_app, open_jobs, shown_keys
from tests.tui.support import table, wait_for

pytestmark = pytest.mark.asyncio


def screen_lines(app: AgentOSApp) -> list[str]:
    """What the terminal shows, line by line."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


async def test_the_header_puts_state_first_at_80_columns() -> None:
    app = fake_app(FakeSource(), read_only=True)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the document")
        await pilot.press("p")
        await pilot.pause()
        header = screen_lines(app)[0]
        assert len(header) == 80
        for shown in ("PAUSED", "READ-ONLY", "data 2 s old"):
            assert shown in header, header


async def test_the_dashboard_keeps_every_figure_at_80x24() -> None:
    app = fake_app(FakeSource())
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the document")
        await pilot.pause(0.2)
        text = "\n".join(screen_lines(app))
        for figure in ("workers online 0", "oldest wait 7m", "unacked errors 1", "Active 4"):
            assert figure in text, figure


@pytest.mark.parametrize("view", [number for number, _, _ in VIEWS])
async def test_every_footer_shows_help_and_quit_at_80_columns(view: str) -> None:
    app = fake_app(FakeSource())
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.has_action("job.cancel"), "the catalog")
        await pilot.press(view)
        await pilot.pause(0.3)
        footer = screen_lines(app)[-1]
        assert "? Help" in footer, footer
        assert "q Quit" in footer, footer


@SIZES
async def test_the_help_fits_the_terminal(size: tuple[int, int]) -> None:
    app = fake_app(FakeSource())
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        await pilot.pause()
        dialog = app.screen.query_one("#help-dialog").region
        assert dialog.x >= 0
        assert dialog.y >= 0
        assert dialog.right <= size[0]
        assert dialog.bottom <= size[1]
        notes = app.screen.query_one("#help-notes")
        assert notes.region.bottom <= dialog.bottom
        assert notes.region.height == notes.virtual_size.height  # every line shown, none cut
        assert "ctrl+p: command palette" in "\n".join(screen_lines(app))
        keys = app.screen.query_one("#help-keys")
        assert keys.row_count >= 15  # type: ignore[attr-defined]
        await pilot.press("end")  # the key table scrolls to its last rows
        await pilot.press("escape")


async def test_narrow_tables_drop_wide_columns() -> None:
    app = fake_app(FakeSource())
    async with app.run_test(size=NARROW) as pilot:
        await open_jobs(pilot, app)
        shown = table(app, "#jobs").column_names
        assert "created" not in shown
        assert "updated" not in shown
        assert {"id", "title", "status", "age"} <= set(shown)
        assert max(len(line.rstrip()) for line in screen_lines(app)) <= 80
    wide = fake_app(FakeSource())
    async with wide.run_test(size=SIZE) as pilot:
        await open_jobs(pilot, wide)
        assert {"created", "updated", "prio"} <= set(table(wide, "#jobs").column_names)


@SIZES
async def test_pause_says_so_in_the_header_and_the_footer(size: tuple[int, int]) -> None:
    app = fake_app(FakeSource())
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.header.connection == "live", "the live feed")
        await pilot.pause(0.2)
        assert "● live" in screen_lines(app)[0]
        assert "Pause live" in shown_keys(app)
        await pilot.press("p")
        await pilot.pause()
        header = screen_lines(app)[0]
        assert "● live" not in header
        assert header.index("PAUSED") < 30, header  # state first
        assert "Resume live" in shown_keys(app)
        assert "Pause live" not in shown_keys(app)
        await pilot.press("p")
        await pilot.pause()
        assert "PAUSED" not in screen_lines(app)[0]
        assert "Pause live" in shown_keys(app)
