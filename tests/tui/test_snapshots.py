"""Screenshots of the main views with fixed data and a fixed clock."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from agentos.tui.app import AgentOSApp
from tests.tui.fake import NOW, FakeSource

SIZE = (160, 42)


def _app() -> AgentOSApp:
    return AgentOSApp(FakeSource(), clock=lambda: NOW.timestamp() + 2.0, refresh_s=3600)


async def _settle(pilot: Pilot[None]) -> None:
    await pilot.pause(0.3)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


def test_dashboard_snapshot(snap_compare: Any) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_settle)


def test_jobs_snapshot(snap_compare: Any) -> None:
    async def jobs(pilot: Pilot[None]) -> None:
        await pilot.press("2")
        await _settle(pilot)

    assert snap_compare(_app(), terminal_size=SIZE, run_before=jobs)


def test_system_snapshot(snap_compare: Any) -> None:
    async def system(pilot: Pilot[None]) -> None:
        await _settle(pilot)  # the catalog: the System keys need it
        await pilot.press("7")
        await _settle(pilot)

    assert snap_compare(_app(), terminal_size=SIZE, run_before=system)


NARROW = (80, 24)


def test_dashboard_narrow_snapshot(snap_compare: Any) -> None:
    """80x24: state first in the header, every figure in the compact lines, ? and q."""
    assert snap_compare(_app(), terminal_size=NARROW, run_before=_settle)


def test_jobs_narrow_snapshot(snap_compare: Any) -> None:
    async def jobs(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("2")
        await _settle(pilot)

    assert snap_compare(_app(), terminal_size=NARROW, run_before=jobs)
