"""`/ws`: access, live change events within a second, snapshots; with Redis, every server
process delivers every event."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from agentos.server.app import create_app
from agentos.server.logs import RedactTokens, redact
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import create_user_and_token
from tests.support.jobs import make_actor, make_job
from tests.support.served import STARTUP_BUDGET_S, free_port, served

EVENT_BUDGET_S = 10.0  # generous bound so a broken feed fails instead of hanging


@pytest.fixture
def server(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """The app on a real loopback socket (uvicorn in a thread); yields its ws:// base."""
    with runtime.session() as session:
        ensure_default_agents(session)
    # No in-process workers: the test cancels a job it expects to find still queued.
    app = create_app(runtime.settings.model_copy(update={"embedded_workers": False}))
    with served(app) as url:
        yield url.replace("http://", "ws://")


def _recv(ws: ClientConnection, *, until: Any, budget_s: float = EVENT_BUDGET_S) -> dict[str, Any]:
    """The first message for which `until(message)` holds."""
    deadline = time.monotonic() + budget_s
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "expected message did not arrive"
        message = orjson.loads(ws.recv(timeout=remaining))
        if until(message):
            return dict(message)


def _close_code(url: str) -> int | None:
    with connect(url, open_timeout=10) as ws:
        try:
            ws.recv(timeout=10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


def test_without_token_closes_4401(server: str) -> None:
    assert _close_code(f"{server}/ws") == 4401
    assert _close_code(f"{server}/ws?token=not-a-jwt") == 4401


def test_user_role_closes_4403(server: str, settings: Settings, runtime: Runtime) -> None:
    _, token = create_user_and_token(runtime, role="user")
    assert _close_code(f"{server}/ws?token={token}") == 4403


def _queued_job(runtime: Runtime) -> tuple[uuid.UUID, Actor]:
    with runtime.session() as session:
        actor = make_actor(session, "admin")
        job = make_job(session, actor, "queued")
    return job.id, actor


def _cancel(runtime: Runtime, job_id: uuid.UUID, actor: Actor) -> float:
    """Cancel through the jobs service; returns when the cancel began (monotonic)."""
    started = time.monotonic()
    with runtime.session() as session:
        jobs.cancel(session, job_id=job_id, actor=actor)
    return started


def _is_cancel_of(job_id: uuid.UUID) -> Any:
    return lambda message: (
        message.get("type") == "event"
        and message.get("kind") == "job.status"
        and message.get("job_id") == str(job_id)
        and message.get("status") == "cancelled"
    )


def test_job_cancel_reaches_the_client_and_the_snapshot(
    server: str, settings: Settings, runtime: Runtime
) -> None:
    _, token = create_user_and_token(runtime, role="readonly")
    with connect(f"{server}/ws?token={token}", open_timeout=10) as ws:
        hello = _recv(ws, until=lambda message: message["type"] == "hello")
        assert hello["role"] == "readonly"
        job_id, actor = _queued_job(runtime)
        _recv(ws, until=lambda message: message.get("kind") == "job.created")
        began = _cancel(runtime, job_id, actor)
        event = _recv(ws, until=_is_cancel_of(job_id))
        elapsed = time.monotonic() - began
        print(f"job.cancel reached the client {elapsed * 1000:.0f} ms after the cancel began")
        assert event["previous"] == "queued"
        ws.send(orjson.dumps({"type": "snapshot"}).decode())
        snapshot = _recv(ws, until=lambda message: message["type"] == "snapshot")
        assert snapshot["data"]["dashboard"]["jobs_by_status"]["cancelled"] == 1
        assert snapshot["cache"]["source"] in {"hit", "miss"}


def test_bearer_header_and_ping(server: str, settings: Settings, runtime: Runtime) -> None:
    _, token = create_user_and_token(runtime, role="operator")
    headers = {"Authorization": f"Bearer {token}"}
    with connect(f"{server}/ws", additional_headers=headers, open_timeout=10) as ws:
        _recv(ws, until=lambda message: message["type"] == "hello")
        ws.send('{"type": "ping"}')
        _recv(ws, until=lambda message: message["type"] == "pong")
        ws.send("nonsense")
        assert "error" in _recv(ws, until=lambda message: message["type"] == "error")


def test_browsers_send_the_token_as_a_subprotocol(server: str, runtime: Runtime) -> None:
    """No token in the URL (it would reach access logs and history)."""
    _, token = create_user_and_token(runtime, role="readonly")
    with connect(f"{server}/ws", subprotocols=["bearer", token], open_timeout=10) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "bearer"
        assert _recv(ws, until=lambda message: message["type"] == "hello")["role"] == "readonly"


def test_tokens_in_urls_never_reach_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/ws?token=eyJhbGci.secret.sig&x=1", "1.1", 101), None,
    )  # fmt: skip
    assert RedactTokens().filter(record)
    assert "eyJ" not in record.getMessage()
    assert "/ws?token=[redacted]&x=1" in record.getMessage()
    assert redact("/a?access_token=abc") == "/a?access_token=[redacted]"


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTOS_")}
    env.update(
        AGENTOS_HOME=str(settings.home_dir),
        AGENTOS_DATABASE_URL=settings.resolved_database_url,
        AGENTOS_REDIS_URL=settings.redis_url or "",
        AGENTOS_REDIS_KEY_PREFIX=settings.redis_key_prefix,
    )
    script = Path(sys.executable).with_name("agentos")
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=settings.home_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait_up(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_BUDGET_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server on {port} did not start:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_two_server_processes_both_push_the_event(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    if settings.is_embedded:
        pytest.skip("several server processes behind one Redis is the distributed deployment")
    with runtime.session() as session:
        ensure_default_agents(session)
    _, token = create_user_and_token(runtime, role="admin")
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"serve-{port}.log" for port in ports]
    processes = [_serve(settings, port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        for process, port, log in zip(processes, ports, logs, strict=True):
            _wait_up(process, port, log)
        with contextlib.ExitStack() as stack:
            sockets = [
                stack.enter_context(
                    connect(f"ws://127.0.0.1:{port}/ws?token={token}", open_timeout=10)
                )
                for port in ports
            ]
            for ws in sockets:
                _recv(ws, until=lambda message: message["type"] == "hello")
            job_id, actor = _queued_job(runtime)
            began = _cancel(runtime, job_id, actor)
            for port, ws in zip(ports, sockets, strict=True):
                _recv(ws, until=_is_cancel_of(job_id))
                elapsed = (time.monotonic() - began) * 1000
                print(f"server :{port} pushed job.cancel {elapsed:.0f} ms after the cancel began")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
