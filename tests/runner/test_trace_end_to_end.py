"""One trace id from an HTTP request to the worker that runs the job's stages.

A job is submitted over HTTP with `X-Trace-Id: T` (or a W3C `traceparent`): the job and
each of its steps hold T, so do the events and audit rows the request (and the work it
caused) wrote, and `logs.search trace_id=T` finds the log records of the server process
and - distributed - of a real `agentos worker` process that ran the stages.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import Job, ProcessingStep, Worker
from agentos.server.app import create_app
from agentos.server.middleware import incoming_trace_id
from agentos.services.context import bound
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.logs.store import store_for
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tasks.control import CeleryRunner
from tests.services.actions.helpers import run
from tests.services.logs.conftest import restore_logging  # noqa: F401  (a fixture)
from tests.support import services
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.pipeline import make_video, submit, wait_for, wait_terminal

AGENTOS = str(Path(sys.executable).with_name("agentos"))
LOOPBACK = ("127.0.0.1", 50000)  # admin actions need an allowed address
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _upload(client: TestClient, headers: dict[str, str], data: bytes, name: str) -> uuid.UUID:
    """Upload `data` in chunks and finalise it, which creates the job; returns its id."""
    body = {"filename": name, "total_size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "chunk_size": 64 * 1024}  # fmt: skip
    created = client.post("/api/upload/init", json=body, headers=headers)
    assert created.status_code == 201, created.text
    upload = created.json()["data"]
    size = upload["chunk_size"]
    for index in range(upload["total_chunks"]):
        sent = client.post("/api/upload/chunk", params={"upload_id": upload["id"], "index": index},
                           content=data[index * size : (index + 1) * size], headers=headers)  # fmt: skip
        assert sent.status_code == 200, sent.text
    options = {"min_clip_s": 0.5, "max_clip_s": 30.0}
    done = client.post("/api/upload/finalize", headers=headers,
                       json={"upload_id": upload["id"], "options": options})  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.headers["x-trace-id"] == headers.get("X-Trace-Id", done.headers["x-trace-id"])
    return uuid.UUID(done.json()["data"]["job_id"])


def _traced(trace: str, token: str) -> dict[str, str]:
    return {**auth_headers(token), "X-Trace-Id": trace}


def _trace_of_rows(runtime: Runtime, job_id: uuid.UUID) -> tuple[str | None, list[Any]]:
    with runtime.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        steps = list(
            session.execute(
                select(ProcessingStep.agent, ProcessingStep.trace_id).where(
                    ProcessingStep.job_id == job_id
                )
            )
        )
    return job.trace_id, steps


def _records(runtime: Runtime, **filters: Any) -> list[dict[str, Any]]:
    """Every log record matching `filters`, all pages."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        payload = {**filters, "limit": 200, **({"before": cursor} if cursor else {})}
        page = run(runtime, "logs.search", payload).result
        found.extend(page["records"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def _annotate(client: TestClient, token: str, trace: str, job_id: uuid.UUID) -> dict[str, Any]:
    """An operator note about the job, sent as an admin action under the same trace id."""
    response = client.post(
        "/api/admin/action",
        json={"action": "events.emit", "payload": {"message": "watching", "job_id": str(job_id)}},
        headers=_traced(trace, token),
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-trace-id"] == trace
    data: dict[str, Any] = response.json()["data"]
    return data


def _assert_request_traced(runtime: Runtime, trace: str, job_id: uuid.UUID) -> None:
    """The job, its steps, the note's event and audit row all hold the request's trace."""
    job_trace, steps = _trace_of_rows(runtime, job_id)
    assert job_trace == trace
    # The queued first stage holds it (the handed-over ones: see the test below).
    assert dict(steps)[PIPELINE[0]] == trace
    noted = run(runtime, "events.list", {"trace_id": trace}).result["events"]
    assert [(event["kind"], event["job_id"]) for event in noted] == [("note", str(job_id))]
    audited = run(runtime, "audit.search", {"trace_id": trace}).result["records"]
    assert [(row["action"], row["outcome"]) for row in audited] == [("events.emit", "success")]


# Embedded: the server process runs the stages in its own worker threads. ----------------


@pytest.mark.usefixtures("restore_logging")
def test_embedded_one_trace_from_request_to_stages(
    embedded_settings: Settings, tmp_path: Path
) -> None:
    runtime = Runtime(embedded_settings)
    trace = f"e2e-{uuid.uuid4().hex[:12]}"
    try:
        _, user = create_user_and_token(runtime, role="user")
        _, admin = create_user_and_token(runtime, role="admin")
        video = make_video(tmp_path).read_bytes()
        app = create_app(runtime, log_process="server")
        with TestClient(app, client=LOOPBACK) as client:
            job_id = _upload(client, _traced(trace, user), video, "traced.mp4")
            assert wait_terminal(runtime, job_id, timeout_s=120).status == "completed"
            _annotate(client, admin, trace, job_id)
            assert store_for(runtime).flush(10)
        _assert_request_traced(runtime, trace, job_id)
        assert {agent for agent, _ in _trace_of_rows(runtime, job_id)[1]} == set(PIPELINE)
        records = _records(runtime, trace_id=trace)
        assert {record["source"].split("@")[0] for record in records} == {"server"}
        messages = [record["message"] for record in records]
        assert any(message.startswith("job created") for message in messages)
        _assert_stage_logged(records, PIPELINE[0], job_id)
        staged = [r for r in records if r["logger"].startswith("agentos.services.pipeline")]
        assert {record["job_id"] for record in staged} == {str(job_id)}
        # What the job's stages logged is under the request's trace (or none, see below).
        assert {r["trace_id"] for r in _records(runtime, job_id=str(job_id))} <= {trace, None}
    finally:
        runtime.close()


def _assert_stage_logged(records: list[dict[str, Any]], agent: str, job_id: uuid.UUID) -> None:
    started = [r for r in records if r["message"].startswith(f"{agent} started")]
    finished = [r for r in records if r["message"].startswith(f"{agent} finished")]
    assert started, (agent, [r["message"] for r in records])
    assert finished, (agent, [r["message"] for r in records])
    assert {r["job_id"] for r in started + finished} == {str(job_id)}


@pytest.mark.usefixtures("restore_logging")
def test_every_stage_and_step_of_a_job_holds_its_trace_id(
    embedded_settings: Settings, tmp_path: Path
) -> None:
    runtime = Runtime(embedded_settings)
    trace = f"e2e-all-{uuid.uuid4().hex[:10]}"
    try:
        _, user = create_user_and_token(runtime, role="user")
        video = make_video(tmp_path).read_bytes()
        with TestClient(create_app(runtime, log_process="server"), client=LOOPBACK) as client:
            job_id = _upload(client, _traced(trace, user), video, "traced.mp4")
            assert wait_terminal(runtime, job_id, timeout_s=120).status == "completed"
            assert store_for(runtime).flush(10)
        records = _records(runtime, job_id=str(job_id))
        assert {r["trace_id"] for r in records} == {trace}
        for agent in PIPELINE:
            _assert_stage_logged(_records(runtime, trace_id=trace), agent, job_id)
        assert dict(_trace_of_rows(runtime, job_id)[1]) == dict.fromkeys(PIPELINE, trace)
    finally:
        runtime.close()


def test_traceparent_gives_the_trace_id(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)
    _, user = create_user_and_token(runtime, role="user")
    client = TestClient(create_app(runtime), client=LOOPBACK)  # no lifespan: nothing runs
    try:
        headers = {**auth_headers(user), "traceparent": TRACEPARENT}
        job_id = _upload(client, headers, b"not really a video" * 50, "parent.mp4")
        job_trace, steps = _trace_of_rows(runtime, job_id)
        assert job_trace == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert {step_trace for _, step_trace in steps} == {job_trace}
        response = client.get("/health", headers={"traceparent": TRACEPARENT})
        assert response.headers["x-trace-id"] == job_trace
        # X-Trace-Id wins over traceparent; a malformed one is replaced.
        both = client.get("/health", headers={"traceparent": TRACEPARENT, "X-Trace-Id": "mine"})
        assert both.headers["x-trace-id"] == "mine"
        bad = client.get(
            "/health", headers={"X-Trace-Id": "has spaces", "traceparent": TRACEPARENT}
        )
        assert bad.headers["x-trace-id"] == job_trace
        fresh = client.get("/health", headers={"X-Trace-Id": "x" * 65})
        assert len(fresh.headers["x-trace-id"]) == 32
        assert fresh.headers["x-trace-id"] != "x" * 65
    finally:
        client.close()


def _scope(*headers: tuple[str, str]) -> dict[str, Any]:
    return {"headers": [(name.encode(), value.encode()) for name, value in headers]}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((("traceparent", TRACEPARENT),), "4bf92f3577b34da6a3ce929d0e0e4736"),
        ((("traceparent", TRACEPARENT.upper()),), "4bf92f3577b34da6a3ce929d0e0e4736"),
        ((("traceparent", f" {TRACEPARENT} "),), "4bf92f3577b34da6a3ce929d0e0e4736"),
        ((("x-trace-id", "abc-123"), ("traceparent", TRACEPARENT)), "abc-123"),
        ((("traceparent", TRACEPARENT), ("x-trace-id", "abc-123")), "abc-123"),
        ((("x-trace-id", "a b"), ("traceparent", TRACEPARENT)), "4bf92f3577b34da6a3ce929d0e0e4736"),
        ((("traceparent", "00-" + "0" * 32 + "-00f067aa0ba902b7-01"),), None),  # invalid id
        ((("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-01"),), None),  # too short
        ((("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"),), None),
        ((), None),
    ],
)
def test_trace_id_from_headers(headers: tuple[tuple[str, str], ...], expected: str | None) -> None:
    found = incoming_trace_id(_scope(*headers))  # type: ignore[arg-type]
    if expected is not None:
        assert found == expected
    else:
        assert len(found) == 32
        assert int(found, 16) >= 0
        assert found != "0" * 32
        assert incoming_trace_id(_scope(*headers)) != found  # a new one each time  # type: ignore[arg-type]


# Distributed: the stages run in a real Celery worker process. -----------------------------


@pytest.fixture
def celery_settings(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "home"
    home.mkdir()
    result = Settings(
        home=home,
        database_url=postgres_url,
        redis_url=redis_url,
        redis_key_prefix=f"agentos-test-{uuid.uuid4().hex[:10]}:",
        heartbeat_interval_s=0.5,
        worker_lost_after_s=5.0,
        celery_dispatch_sweep_s=0.5,
    )
    yield result
    services.flush_redis_prefix(result)


@pytest.fixture
def celery_runtime(celery_settings: Settings) -> Iterator[Runtime]:
    built = Runtime(celery_settings)
    with built.session() as session:
        ensure_default_agents(session)
    yield built
    built.close()


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
    for name in ("home", "database_url", "redis_url", "redis_key_prefix", "heartbeat_interval_s",
                 "worker_lost_after_s", "celery_dispatch_sweep_s"):  # fmt: skip
        env[f"AGENTOS_{name.upper()}"] = str(getattr(settings, name))
    return env


@pytest.fixture
def celery_worker(
    celery_settings: Settings, celery_runtime: Runtime, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """A started `agentos worker` (one pool process); yields a reader of its output."""
    name = "tracer@localhost"
    log = tmp_path / "worker.log"
    celery_settings.signing_key()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [AGENTOS, "worker", "--concurrency", "1", "--name", name],
            env=_worker_env(celery_settings),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: _online(celery_runtime, name), timeout_s=60, what="the worker")
        yield lambda: log.read_text(errors="replace")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _online(runtime: Runtime, name: str) -> bool:
    with runtime.session() as session:
        return session.scalar(select(Worker.status).where(Worker.name == name)) == "online"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.usefixtures("restore_logging")
def test_distributed_one_trace_from_request_to_the_celery_worker(
    celery_runtime: Runtime, celery_worker: Callable[[], str], tmp_path: Path
) -> None:
    runtime = celery_runtime
    good, bad = f"e2e-ok-{uuid.uuid4().hex[:10]}", f"e2e-bad-{uuid.uuid4().hex[:10]}"
    _, user = create_user_and_token(runtime, role="user")
    _, admin = create_user_and_token(runtime, role="admin")
    video = make_video(tmp_path).read_bytes()
    app = create_app(runtime, runner=CeleryRunner, log_process="server")
    with TestClient(app, client=LOOPBACK) as client:
        job_id = _upload(client, _traced(good, user), video, "traced.mp4")
        broken_id = _upload(client, _traced(bad, user), b"no video in here" * 64, "broken.mp4")
        assert wait_terminal(runtime, job_id, timeout_s=120).status == "completed"
        assert wait_terminal(runtime, broken_id, timeout_s=120).status == "failed"
        _annotate(client, admin, good, job_id)
        assert store_for(runtime).flush(10)
    _assert_request_traced(runtime, good, job_id)
    assert {agent for agent, _ in _trace_of_rows(runtime, job_id)[1]} == set(PIPELINE)

    def sources() -> set[str]:
        return {record["source"].split("@")[0] for record in _records(runtime, trace_id=good)}

    # The worker process writes its records through its own store within about a second.
    wait_for(lambda: sources() == {"server", "worker"}, timeout_s=20,
             what=f"worker records under {good} (worker log: {celery_worker()[-2000:]})")  # fmt: skip
    records = _records(runtime, trace_id=good)
    by_worker = [r for r in records if r["source"].startswith("worker@")]
    server_pid = f":{os.getpid()}"
    assert all(r["source"].endswith(server_pid) for r in records if r not in by_worker)
    assert not any(r["source"].endswith(server_pid) for r in by_worker)
    _assert_stage_logged(by_worker, PIPELINE[0], job_id)
    assert {r["job_id"] for r in by_worker} == {str(job_id)}
    assert any(r["message"].startswith("job created") for r in records if r not in by_worker)
    found = run(runtime, "logs.search", {"trace_id": good, "source": "worker"}).result["records"]
    assert {r["id"] for r in found} == {r["id"] for r in by_worker}

    # The failed job's event was written by the worker, under the failing request's trace.
    failed = run(runtime, "events.list", {"trace_id": bad}).result["events"]
    assert [(e["kind"], e["job_id"], e["severity"]) for e in failed] == [
        ("job.failed", str(broken_id), "error")
    ]
    assert _trace_of_rows(runtime, broken_id)[0] == bad
    assert {r["source"].split("@")[0] for r in _records(runtime, trace_id=bad)} == {
        "server",
        "worker",
    }


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.usefixtures("restore_logging")  # the level is set in this process too
def test_a_level_set_live_reaches_the_worker_processes_that_run_stages(
    celery_runtime: Runtime, celery_worker: Callable[[], str], tmp_path: Path
) -> None:
    runtime = celery_runtime
    quiet = "agentos.services.pipeline.step_runner"
    run(runtime, "logs.set_level", {"logger": quiet, "level": "WARNING"})
    time.sleep(2.0)  # the aim is within 1 s
    sender = CeleryRunner(runtime)
    sender.start()
    try:
        with bound(trace_id="after-set-level"):
            job_id = submit(runtime, make_video(tmp_path))
        assert wait_terminal(runtime, job_id, timeout_s=120).status == "completed"
    finally:
        sender.stop()
    time.sleep(3.0)  # what the worker wrote is stored within a second
    chatty = [
        r["message"]
        for r in _records(runtime, job_id=str(job_id), source="worker")
        if r["logger"] == quiet and r["level"] == "INFO"
    ]
    assert chatty == []
