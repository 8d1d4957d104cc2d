"""`agentos serve` as a real process on a fresh home answers /health."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

STARTUP_BUDGET_S = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_health(process: subprocess.Popen[bytes], url: str) -> httpx.Response | None:
    """The last /health answer within the budget (None if the server never answered)."""
    deadline = time.monotonic() + STARTUP_BUDGET_S
    last: httpx.Response | None = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            last = httpx.get(url, timeout=2.0)
            if last.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return last


@pytest.mark.slow
def test_serve_starts_on_a_fresh_home_and_reports_healthy(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("agentos")
    assert script.exists(), f"console script missing next to {sys.executable}"
    port = _free_port()
    home = tmp_path / "fresh-home"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AGENTOS_") or key.startswith("AGENTOS_TEST_")
    }
    env["AGENTOS_HOME"] = str(home)
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            response = _wait_for_health(process, f"http://127.0.0.1:{port}/health")
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    output_text = log.read_text(errors="replace")[-4000:]
    assert response is not None, f"server never answered /health; its output:\n{output_text}"
    assert response.status_code == 200, f"{response.text}\n--- server output:\n{output_text}"
    body = response.json()
    assert body["success"] is True
    assert body["data"]["deployment"] == "embedded"
    assert (home / "agentos.db").exists()
