"""Remote mode against a real `agentos serve`: seeded figures, live changes over /ws, and
a server that goes away and comes back on the same port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from agentos.schemas.seed import SeedResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.app import AgentOSApp
from agentos.tui.source import RemoteSource
from tests.support.auth import create_user_and_token
from tests.tui.support import column, job_ids, table, text_of, wait_for

STARTUP_BUDGET_S = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(settings: Settings, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`agentos serve` on the deployment's home, without workers (the data stays put)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
    env.update(AGENTOS_HOME=str(settings.home), AGENTOS_EMBEDDED_WORKERS="false")
    script = Path(sys.executable).with_name("agentos")
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_BUDGET_S
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"server did not start:\n{log.read_text()[-3000:]}")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_remote_mode_live_changes_and_reconnect(
    embedded_settings: Settings,
    embedded_runtime: Runtime,
    seeded_embedded: SeedResult,
    tmp_path: Path,
) -> None:
    _, token = create_user_and_token(embedded_runtime, role="admin")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    queued = job_ids(embedded_runtime, "queued")
    total = sum(seeded_embedded.jobs_by_status.values())
    with serving(embedded_settings, port, log) as _first:
        app = AgentOSApp(RemoteSource(url, token, max_backoff_s=1.0), refresh_s=60)
        async with app.run_test(size=(180, 50)) as pilot:
            await wait_for(pilot, lambda: app.header.connection == "live", "the WebSocket")
            await wait_for(pilot, lambda: app.snapshot is not None, "the SSOT document")
            assert text_of(app, "#tile-jobs").startswith(f"Jobs {total}")
            assert "remote" in text_of(app, "#status")
            await pilot.press("2")
            await wait_for(pilot, lambda: queued[0] in table(app, "#jobs").keys, "the jobs page")

            # A change made through the API appears in the open TUI.
            response = httpx.post(
                f"{url}/api/admin/action",
                json={"action": "job.cancel", "payload": {"job_id": queued[0]}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            row = table(app, "#jobs").keys.index(queued[0])
            await wait_for(
                pilot,
                lambda: column(app, "#jobs", "status")[row] == "cancelled",
                "the API's change",
            )

            _first.send_signal(signal.SIGTERM)
            _first.wait(timeout=15)
            await wait_for(pilot, lambda: app.header.connection == "disconnected", "the disconnect")
            assert "disconnected" in text_of(app, "#status")
            with serving(embedded_settings, port, log):
                await wait_for(pilot, lambda: app.header.connection == "live", "the reconnect")
                assert "live" in text_of(app, "#status")
