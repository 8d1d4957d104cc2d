"""Issue 16, defects 3, 10, 12 and 15 on the fake source, at 160x48 and 80x24: warnings
and stalled agents shown, the server's process named so when remote, dry runs and replays
said as such (audit trail and notifications), short notifications, a complete `:` command
run at once (the form only for missing fields, saying where a value came from)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from textual.widgets import Input, Label

from agentos.schemas.admin import DashboardWarning, ProcessStats
from agentos.schemas.audit import AuditRecordRead
from agentos.tui import commands
from agentos.tui.screens.agents import AgentsScreen
from agentos.tui.screens.modals import ActionFormScreen
from tests.tui.fake import NOW, FakeSource, _id
from tests.tui.pilots import SIZES, fake_app, open_jobs, record_notes
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
QUEUED = str(_id(4))
NO_WORKERS = DashboardWarning(
    code="NO_WORKERS",
    message="no workers online: 4 jobs stalled; start `agentos serve` or `agentos worker`",
)


def _stalled(source: FakeSource) -> FakeSource:
    source.document.dashboard.warnings = [NO_WORKERS]
    agent = source.document.agents_workers.agents[2]
    agent.state, agent.running = "stalled", 0
    return source


@SIZES
async def test_warnings_and_stalled_agents_show_on_the_dashboard_and_agents(
    size: tuple[int, int],
) -> None:
    app = fake_app(_stalled(FakeSource()))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "NO_WORKERS" in text_of(app, "#warnings"), "dashboard")
        assert "4 jobs stalled" in text_of(app, "#warnings")
        assert app.screen.query_one("#warnings").region.y <= 2  # first, under the header
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentsScreen), "the agents view")
        await wait_for(pilot, lambda: "NO_WORKERS" in text_of(app, "#warnings"), "agents")
        await wait_for(pilot, lambda: "stalled" in column(app, "#agents", "state"), "stalled")
        cell = table(app, "#agents").get_row("scenes")[1]
        assert cell.style == "bold white on red"


async def test_no_warning_no_banner() -> None:
    app = fake_app(FakeSource())
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the document")
        await pilot.pause(0.2)
        assert not app.screen.query_one("#warnings").display


@pytest.mark.parametrize(("mode", "said"), [("local", "this process"), ("remote", "server")])
async def test_the_process_line_names_whose_process_it_is(mode: str, said: str) -> None:
    source = FakeSource()
    source.mode = mode
    source.document.agents_workers.process = ProcessStats(
        pid=4242, cpu_percent=3.0, memory_bytes=1 << 20, threads=9
    )
    app = fake_app(source)
    async with app.run_test() as pilot:
        await pilot.press("3")
        await wait_for(pilot, lambda: "pid 4242" in text_of(app, "#process"), "the line")
        assert text_of(app, "#process").startswith(f"{said}")
        if mode == "remote":
            assert "this process" not in text_of(app, "#process")


def _audit(seq: int, outcome: str, payload: dict[str, object]) -> AuditRecordRead:
    return AuditRecordRead(
        id=uuid.uuid4(),
        seq=seq,
        created_at=NOW - timedelta(minutes=seq),
        actor_name="ops",
        source="cli",
        action="queue.clear",
        payload=payload,
        outcome=outcome,
        prev_hash="0" * 64,
        hash="1" * 64,
    )


@SIZES
async def test_the_audit_trail_shows_dry_runs_and_replays(size: tuple[int, int]) -> None:
    source = FakeSource()
    source.audit_records = [
        _audit(3, "replayed", {"confirm": True}),
        _audit(2, "success", {"dry_run": True}),
        _audit(1, "success", {"confirm": True, "dry_run": False}),
    ]
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.has_action("logs.search"), "the catalog")
        await pilot.press("4")
        await wait_for(pilot, lambda: len(table(app, "#audit").keys) == 3, "the audit trail")
        assert column(app, "#audit", "outcome") == ["replayed", "dry run", "success"]


@SIZES
async def test_notifications_are_short_and_say_dry_run_and_replayed(
    size: tuple[int, int],
) -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await select_row(pilot, app, "#jobs", QUEUED)
        await pilot.press("c")
        await wait_for(pilot, lambda: any("cancelled" in t for t, _ in notes), "the cancel")
        [done] = [text for text, _ in notes if "cancelled" in text]
        assert done == "job 00000004 cancelled"  # not the whole job object

        commands.execute(app, "queue.retry_failed dry_run=true")
        await wait_for(pilot, lambda: any(t.startswith("DRY RUN") for t, _ in notes), "dry")
        [dry] = [(t, s) for t, s in notes if t.startswith("DRY RUN")]
        assert dry == ("DRY RUN, nothing changed: would affect count 0", "warning")

        source.replay.add("queue.pause")
        commands.execute(app, "queue.pause")
        await wait_for(pilot, lambda: any(t.startswith("REPLAYED") for t, _ in notes), "replay")


@SIZES
async def test_a_complete_command_line_runs_at_once(size: tuple[int, int]) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=size) as pilot:
        await open_jobs(pilot, app)
        await select_row(pilot, app, "#jobs", str(_id(10)))  # another job selected
        await pilot.press("colon", *"job.cancel 00000004", "enter")
        await wait_for(pilot, lambda: source.real_runs("job.cancel") != [], "the cancel")
        assert source.real_runs("job.cancel") == [{"job_id": "00000004"}]
        assert not isinstance(app.screen, ActionFormScreen)

        await pilot.press("colon", *"job.set_priority", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen), "the form")
        form = app.screen
        focused = form.focused
        assert isinstance(focused, Input)
        assert focused.id == "field-priority"  # the missing field, not `reason`
        labels = [str(label.content) for label in form.query(Label)]
        assert "job_id * (from the selected row)" in labels
        assert form.query_one("#field-job_id", Input).value == str(_id(10))
        await pilot.press("escape")


async def test_a_bare_word_for_an_action_of_several_fields_is_explained() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test() as pilot:
        await open_jobs(pilot, app)
        await pilot.press("colon", *"job.set_priority 00000004 7", "enter")
        await wait_for(pilot, lambda: any("expected key=value" in t for t, _ in notes), "error")
        assert source.runs("job.set_priority") == []
