"""`agentos serve` subprocesses on free ports, sharing one test deployment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from agentos.settings import Settings

STARTUP_BUDGET_S = 40.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTOS_")}
    env["AGENTOS_HOME"] = str(settings.home_dir)
    env["AGENTOS_EMBEDDED_WORKERS"] = "false"
    if settings.database_url:
        env["AGENTOS_DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["AGENTOS_REDIS_URL"] = settings.redis_url
        env["AGENTOS_REDIS_KEY_PREFIX"] = settings.redis_key_prefix
    env.update(extra)
    return env


@contextmanager
def serve(settings: Settings, log: Path, **extra: str) -> Iterator[str]:
    """One server process; yields its base URL once /health answers."""
    settings.signing_key()  # the key file exists before the server reads it
    port = free_port()
    script = Path(sys.executable).with_name("agentos")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(settings, **extra),
            cwd=settings.home_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(process, url, log)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def serve_many(settings: Settings, logs: list[Path], **extra: str) -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(serve(settings, log, **extra)) for log in logs]


def _wait(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_BUDGET_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start:\n{log.read_text(errors='replace')[-3000:]}")
