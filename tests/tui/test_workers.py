"""Agents & Workers view (3) on the fake source: one row per worker (the document's list
joined with `worker.stats`), and each worker key's dialog, action and payload."""

from __future__ import annotations

import uuid

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList

from agentos.schemas.admin import CurrentWork
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.agents import WORKER_STATS_S, AgentsScreen
from agentos.tui.screens.forms import FormScreen
from agentos.tui.screens.modals import ChoiceScreen, ConfirmScreen, PromptScreen
from tests.tui.fake import FakeSource
from tests.tui.fake_workers import ALPHA, BETA
from tests.tui.pilots import (
    SIZE,
    Clock,
    answer,
    confirm_dialog,
    fake_app,
    record_notes,
    shown_keys,
)
from tests.tui.support import column, select_row, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
WRITE_KEYS = ("plus", "minus", "A", "X", "R")
READS = ("worker.stats", "worker.ping")


def _writes(source: FakeSource) -> list[str]:
    return [
        name
        for name, payload in source.calls
        if name.startswith("worker.") and name not in READS and not payload.get("dry_run")
    ]


def _cell(app: AgentOSApp, worker: str, name: str) -> str:
    return column(app, "#workers", name)[table(app, "#workers").keys.index(worker)]


async def _open(pilot: Pilot[None], app: AgentOSApp, source: FakeSource) -> None:
    await wait_for(pilot, lambda: app.has_action("worker.stats"), "the catalog")
    await pilot.press("3")
    await wait_for(pilot, lambda: isinstance(app.screen, AgentsScreen), "the view")
    await wait_for(pilot, lambda: table(app, "#workers").keys == [ALPHA, BETA], "the workers")
    await wait_for(pilot, lambda: _cell(app, ALPHA, "cpu") != "-", "worker.stats")


async def _choose(pilot: Pilot[None], app: AgentOSApp, index: int) -> str:
    """Pick option `index` of the choice dialog; returns its question."""
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the choice")
    dialog = app.screen
    assert isinstance(dialog, ChoiceScreen)
    assert dialog.query_one(OptionList).highlighted == 0
    await pilot.press(*["down"] * index, "enter")
    await wait_for(pilot, lambda: app.screen is not dialog, "the choice made")
    return dialog.question


async def test_three_lists_one_row_per_worker() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        assert column(app, "#workers", "kind") == ["celery", "embedded"]
        assert column(app, "#workers", "status") == ["online", "online"]
        assert column(app, "#workers", "pool") == ["4", "2 (1-3)"]
        assert column(app, "#workers", "active") == ["1", "2"]
        assert column(app, "#workers", "cpu") == ["12%", "-"]
        assert column(app, "#workers", "memory") == ["200.0 MiB", "-"]
        assert column(app, "#workers", "done") == ["130", "41"]
        assert column(app, "#workers", "failed") == ["4", "0"]
        assert column(app, "#workers", "heartbeat") == ["4s", "4s"]
        await select_row(pilot, app, "#workers", ALPHA)
        detail = text_of(app, "#worker-detail")
        assert "recent failures (stages failed on it) 3" in detail
        assert "active tasks: task-a1 (scenes of job 00000003)" in detail
        assert "load 0.50 0.40 0.30" in detail
        assert "2 answered worker.stats" in str(app.screen.query_one("#workers-title").content)
        assert source.runs("worker.stats") == [{}]
        assert {"Ping workers", "Worker stats", "Grow pool", "Autoscale", "Revoke task"} <= (
            shown_keys(app)
        )


async def test_ping_and_stats_read_every_worker_and_show_the_silent_ones() -> None:
    source = FakeSource()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await pilot.press("i")
        await wait_for(pilot, lambda: _cell(app, ALPHA, "ping") == "2.5 ms", "the ping")
        assert source.runs("worker.ping") == [{}]
        assert _cell(app, BETA, "ping") == "3.5 ms"
        assert (f"{ALPHA} 2.5 ms; {BETA} 3.5 ms", "information") in notes

        source.workers_data.silent.add(BETA)
        await pilot.press("s")
        await wait_for(pilot, lambda: _cell(app, BETA, "status") == "missing", "missing")
        assert len(source.runs("worker.stats")) == 2
        assert _cell(app, BETA, "pool") == "2"  # the document's figure now
        await pilot.press("i")
        await wait_for(pilot, lambda: any("no reply within 1 s" in t for t, _ in notes), "ping")
        assert (f"{ALPHA} 2.5 ms; no reply within 1 s: {BETA}", "warning") in notes


async def test_pool_keys_ask_how_many_then_grow_or_shrink() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await select_row(pilot, app, "#workers", ALPHA)
        await pilot.press("plus")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        assert app.screen.query_one(Input).value == "1"
        await pilot.press("enter")
        await wait_for(pilot, lambda: _cell(app, ALPHA, "pool") == "5", "the pool grown")
        assert source.runs("worker.pool_grow") == [{"worker": ALPHA, "n": 1}]

        await pilot.press("minus")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        app.screen.query_one(Input).value = "3"
        await pilot.press("enter")
        await wait_for(pilot, lambda: _cell(app, ALPHA, "pool") == "2", "the pool shrunk")
        assert source.runs("worker.pool_shrink") == [{"worker": ALPHA, "n": 3}]

        await pilot.press("minus")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentsScreen), "cancelled")
        assert len(source.runs("worker.pool_shrink")) == 1


async def test_autoscale_is_a_form_with_min_and_max() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await select_row(pilot, app, "#workers", BETA)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), "the form")
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.query_one("#field-min", Input).value == "1"
        assert form.query_one("#field-max", Input).value == "3"
        form.query_one("#field-max", Input).value = "lots"
        form.query_one("#field-max", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "whole number" in text_of(app, "#error-max"), "the error")
        assert source.runs("worker.autoscale") == []

        form.query_one("#field-min", Input).value = "2"
        form.query_one("#field-max", Input).value = "6"
        await pilot.press("enter")
        await wait_for(pilot, lambda: _cell(app, BETA, "pool") == "2 (2-6)", "the bounds")
        assert source.runs("worker.autoscale") == [{"worker": BETA, "min": 2, "max": 6}]


async def test_shutdown_asks_first_and_no_is_the_default() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await select_row(pilot, app, "#workers", ALPHA)
        await pilot.press("X")
        question = await confirm_dialog(pilot, app)
        assert f"Shut down worker {ALPHA}?" in question
        assert "its 1 active task(s) finish first" in question
        focused = app.screen.focused
        assert isinstance(focused, Button)
        assert focused.id == "no"
        await pilot.press("enter")  # the default answer
        await wait_for(pilot, lambda: isinstance(app.screen, AgentsScreen), "declined")
        assert _writes(source) == []

        await pilot.press("X")
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: source.real_runs("worker.shutdown") != [], "the shutdown")
        assert source.real_runs("worker.shutdown") == [{"worker": ALPHA, "confirm": True}]
        await wait_for(pilot, lambda: _cell(app, ALPHA, "status") == "online", "listed still")


async def test_revoke_picks_an_active_task_and_asks_about_terminating() -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await select_row(pilot, app, "#workers", ALPHA)
        await pilot.press("R")
        assert "Terminate task-a1" in await _choose(pilot, app, 1)
        question = await confirm_dialog(pilot, app)
        assert "Revoke task task-a1 (scenes of job 00000003)" in question
        assert "stopped now" in question
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: _cell(app, ALPHA, "active") == "0", "the task gone")
        assert source.runs("worker.revoke_task") == [{"task_id": "task-a1", "terminate": True}]

        await select_row(pilot, app, "#workers", BETA)
        await pilot.press("R")
        assert f"Revoke which task of {BETA}?" == await _choose(pilot, app, 1)
        await _choose(pilot, app, 0)  # terminate: no (the first choice)
        assert "a running stage finishes" in await confirm_dialog(pilot, app)
        await answer(pilot, app, "n")
        assert len(source.runs("worker.revoke_task")) == 1
        await pilot.press("R")
        await _choose(pilot, app, 1)
        await _choose(pilot, app, 0)
        await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: len(source.runs("worker.revoke_task")) == 2, "revoked")
        assert source.runs("worker.revoke_task")[1] == {"task_id": "task-b2", "terminate": False}


async def test_revoke_offers_the_documents_stages_when_stats_are_missing() -> None:
    source = FakeSource()
    step = uuid.UUID("5e000000-0000-4000-8000-000000000001")
    job = uuid.UUID("00000004-0000-4000-8000-000000000000")
    probe = source.document.agents_workers.agents[1]
    probe.current_work = [
        CurrentWork(step_id=step, job_id=job, worker_id=BETA, started_at=None, progress=0.5)
    ]
    source.workers_data.silent.add(BETA)
    source.workers_data.stats[ALPHA].active.clear()
    app = fake_app(source)
    notes = record_notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        assert _cell(app, BETA, "active") == "1"
        await select_row(pilot, app, "#workers", ALPHA)
        await pilot.press("R")
        await wait_for(pilot, lambda: (f"{ALPHA} has no active task", "information") in notes, "")
        await select_row(pilot, app, "#workers", BETA)
        await pilot.press("R")
        await _choose(pilot, app, 0)
        assert f"{step} (probe of job 00000004)" in await confirm_dialog(pilot, app)
        await answer(pilot, app, "y")
        await wait_for(pilot, lambda: source.runs("worker.revoke_task") != [], "the revoke")
        assert source.runs("worker.revoke_task") == [{"task_id": str(step), "terminate": False}]


async def test_read_only_reads_workers_but_hides_and_refuses_writes() -> None:
    source = FakeSource()
    app = fake_app(source, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        assert {"Ping workers", "Worker stats"} <= shown_keys(app)
        assert not {"Grow pool", "Shrink pool", "Autoscale", "Shutdown worker"} & shown_keys(app)
        await select_row(pilot, app, "#workers", ALPHA)
        await pilot.press(*WRITE_KEYS)
        await pilot.pause(0.3)
        assert isinstance(app.screen, AgentsScreen)
        screen = app.screen
        screen.action_pool(1)  # refused even when reached without its key
        screen.action_revoke()
        screen.action_shutdown()
        await pilot.press("i")
        await wait_for(pilot, lambda: source.runs("worker.ping") == [{}], "the ping (a read)")
        assert not isinstance(app.screen, ConfirmScreen | PromptScreen | ChoiceScreen)
        assert _writes(source) == []


async def test_stats_are_read_when_due_and_after_a_worker_action(moved_clock: Clock) -> None:
    source = FakeSource()
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, source)
        await pilot.pause(0.5)  # several document refreshes
        assert len(source.runs("worker.stats")) == 1
        moved_clock.now += WORKER_STATS_S + 1
        await wait_for(pilot, lambda: len(source.runs("worker.stats")) == 2, "due again")
        await select_row(pilot, app, "#workers", ALPHA)
        await pilot.press("plus")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(source.runs("worker.stats")) == 3, "after the grow")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(source.runs("worker.stats")) == 4, "^r")
