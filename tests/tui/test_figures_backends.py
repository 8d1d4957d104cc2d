"""The Failures and Analytics views show the core's exact figures on both real backends
(local: the service layer; remote: `GET /api/admin/ssot/figures` of a served app), on both
deployments: 1500 failed jobs (more than the 1000 the view used to sample) by code, the
retries waiting, and every step per agent over the last 24 h (not the newest 40 jobs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.failures import FailuresScreen
from agentos.tui.source import BackendSource, LocalSource, RemoteSource
from tests.support.auth import create_user_and_token
from tests.support.figures import expected_window_counts, seed_figures
from tests.support.served import served
from tests.tui.support import column, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
SIZE = (180, 50)
CODES = ("FFMPEG_TIMEOUT", "PROBE_FAILED", None)


@contextmanager
def _source(mode: str, settings: Settings, runtime: Runtime) -> Iterator[BackendSource]:
    if mode == "local":
        yield LocalSource(settings)
        return
    _, token = create_user_and_token(runtime, role="readonly")  # an admin reader suffices
    with served(create_app(runtime, runner=lambda _runtime: None)) as url:
        yield RemoteSource(url, token, max_backoff_s=1.0)


@pytest.mark.parametrize("mode", ["local", "remote"])
async def test_failures_and_agent_figures_are_exact(
    settings: Settings, runtime: Runtime, mode: str
) -> None:
    known = seed_figures(runtime, datetime.now(UTC))
    with _source(mode, settings, runtime) as source:
        app = AgentOSApp(source, refresh_s=60)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("9")
            await wait_for(pilot, lambda: isinstance(app.screen, FailuresScreen), "Failures")
            await wait_for(pilot, lambda: len(table(app, "#groups").keys) == 3, "three codes")
            assert column(app, "#groups", "error code") == [
                "FFMPEG_TIMEOUT",
                "PROBE_FAILED",
                "(no code)",
            ]
            assert column(app, "#groups", "jobs") == ["700", "500", "300"]
            assert column(app, "#groups", "last hour") == [
                str(expected_window_counts(code, 1)) for code in CODES
            ]
            assert column(app, "#groups", "24 h") == [
                str(expected_window_counts(code, 24)) for code in CODES
            ]
            state = text_of(app, "#failures-state")
            assert "1500 failed jobs in 3 error codes" in state
            assert "3 attempts waiting for a retry (1 due)" in state
            await wait_for(pilot, lambda: len(table(app, "#group-jobs").keys) == 200, "jobs")
            title = str(app.screen.query_one("#group-title").content)
            assert title == "Jobs of FFMPEG_TIMEOUT (the newest 200 of 700)"
            assert table(app, "#retries").keys == [
                str(known.retry_jobs[name]) for name in ("due", "soon", "after_cancel")
            ]
            assert column(app, "#retries", "attempt") == ["2/3", "2/3", "3/3"]
            assert column(app, "#retries", "last error")[0] == "SCENES_OOM: out of memory"

            await pilot.press("5")
            await wait_for(pilot, lambda: len(table(app, "#agent-figures").keys) == 6, "agents")
            figures = table(app, "#agent-figures")
            rows = {
                agent: dict(zip(figures.column_names, figures.get_row(agent), strict=True))
                for agent in figures.keys
            }
            picked = ("steps", "failed", "fail %", "p50 ms", "p95 ms")
            assert [rows["scenes"][name] for name in picked] == ["1500", "300", "20%", "600",
                                                                 "1140"]  # fmt: skip
            assert [rows["probe"][name] for name in picked] == ["6", "1", "17%", "300", "2600"]
            assert rows["ingest"]["steps"] == "0"
            assert "(exact)" in str(app.screen.query_one("#agents-title").content)
