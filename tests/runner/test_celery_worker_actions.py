"""The worker actions against a real `agentos worker` (Celery's remote control): the figures
agree with what `celery inspect` reports for the same worker, an absent worker is listed
as missing rather than waited for, and a warm shutdown ends the process.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from agentos.db.models import Job, ProcessingStep, Worker
from agentos.errors import ConflictError
from agentos.services.actions import pipeline
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.pipeline import worker_control, workers
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tasks.app import app_for
from agentos.tasks.remote_control import CeleryWorkerControl
from tests.support import celery, services
from tests.support.pipeline import make_video, submit, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
WORKER = f"actions-{uuid.uuid4().hex[:6]}@localhost"
OPERATOR = Actor(name="op", role="operator", source="cli")


@pytest.fixture
def celery_settings(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    result = celery.celery_settings(
        postgres_url,
        redis_url,
        tmp_path / "home",
        heartbeat_interval_s=1.0,
        worker_lost_after_s=60.0,
        worker_reply_timeout_s=2.0,
    )
    with Runtime(result).session() as session:
        ensure_default_agents(session)
    yield result
    services.flush_redis_prefix(result)


@pytest.fixture
def celery_runtime(celery_settings: Settings) -> Iterator[Runtime]:
    built = Runtime(celery_settings)
    worker_control.use(built, CeleryWorkerControl.for_runtime)
    yield built
    built.close()


@pytest.fixture
def worker_process(
    request: pytest.FixtureRequest,
    celery_settings: Settings,
    celery_runtime: Runtime,
    tmp_path: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    """An `agentos worker` for the probe agent; `request.param`: its pool options."""
    args = ["--agents", "probe", *request.param, "--name", WORKER]
    process = celery.start_worker(celery_settings, args, log=tmp_path / "worker.log")
    try:
        wait_for(lambda: _online(celery_runtime), timeout_s=60, what="the worker")
        yield process
    finally:
        celery.stop_worker(process)


def _online(runtime: Runtime) -> bool:
    answered = app_for(runtime).control.ping(destination=[WORKER], timeout=0.5) or []
    with runtime.read_session() as session:
        row = session.scalar(select(Worker.status).where(Worker.name == WORKER))
    return bool(answered) and row == "online"


def act(runtime: Runtime, action: str, **payload: Any) -> Any:
    with runtime.session() as session:
        return pipeline.execute(session, actor=OPERATOR, action=action, payload=payload).result


def _celery_stats(runtime: Runtime) -> dict[str, Any]:
    found: dict[str, Any] = (
        app_for(runtime).control.inspect(destination=[WORKER], timeout=2.0).stats() or {}
    ).get(WORKER, {})
    return found


FIXED_POOL = ["--concurrency", "2"]
AUTOSCALING = ["--autoscale", "3,1"]


@pytest.mark.parametrize("worker_process", [FIXED_POOL], indirect=True)
def test_worker_actions_on_a_real_celery_worker(
    celery_runtime: Runtime, worker_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    with celery_runtime.session() as session:
        workers.worker_heartbeat(
            session, name="ghost@nowhere", kind="celery", agents=[], concurrency=1
        )

    pinged = act(celery_runtime, "worker.ping")
    assert [reply["worker"] for reply in pinged["replies"]] == [WORKER]
    assert pinged["replies"][0]["latency_ms"] > 0
    assert pinged["missing"] == ["ghost@nowhere"]

    (figures,) = act(celery_runtime, "worker.stats", worker=WORKER)["workers"]
    inspected = _celery_stats(celery_runtime)
    assert figures["pid"] == inspected["pid"] == worker_process.pid
    assert figures["pool_size"] == len(inspected["pool"]["processes"]) == 2
    assert figures["tasks_done"] == sum(inspected.get("total", {}).values())
    assert figures["autoscale"] is None
    assert figures["memory_bytes"] > 0
    assert len(figures["load_avg"]) == 3

    grown = act(celery_runtime, "worker.pool_grow", worker=WORKER, n=1)
    assert grown["before"] == 2
    wait_for(
        lambda: len(_celery_stats(celery_runtime)["pool"]["processes"]) == 3,
        timeout_s=30,
        what="the pool to grow to 3",
    )
    shrunk = act(celery_runtime, "worker.pool_shrink", worker=WORKER, n=2)
    assert shrunk["before"] == 3
    # A pool process leaves once it is idle: on a busy machine that can take a moment.
    wait_for(
        lambda: len(_celery_stats(celery_runtime)["pool"]["processes"]) == 1,
        timeout_s=30,
        what="the pool to shrink to 1",
    )
    with pytest.raises(ConflictError, match="cannot shrink"):
        act(celery_runtime, "worker.pool_shrink", worker=WORKER, n=1)
    with pytest.raises(ConflictError, match="--autoscale"):
        act(celery_runtime, "worker.autoscale", worker=WORKER, min=1, max=5)

    # A queued stage whose message was sent: revoked on the worker, its job cancelled.
    job_id = submit(celery_runtime, make_video(tmp_path))
    with celery_runtime.session() as session:
        session.execute(
            update(ProcessingStep)
            .where(ProcessingStep.job_id == job_id)
            .values(task_id="task-to-revoke")
        )
    revoked = act(celery_runtime, "worker.revoke_task", task_id="task-to-revoke")
    assert revoked["job_status"] == "cancelled"
    revoked_ids = (
        app_for(celery_runtime).control.inspect(destination=[WORKER], timeout=2.0).revoked() or {}
    ).get(WORKER, [])
    assert "task-to-revoke" in revoked_ids
    with celery_runtime.read_session() as session:
        assert session.scalar(select(Job.status).where(Job.id == job_id)) == "cancelled"
    with pytest.raises(ConflictError):
        act(celery_runtime, "worker.revoke_task", task_id="task-to-revoke")

    stopped = act(celery_runtime, "worker.shutdown", worker=WORKER, confirm=True)
    assert stopped["running"] == 0
    worker_process.wait(30)
    assert stopped["offline"] is True
    assert act(celery_runtime, "worker.ping")["missing"] == ["ghost@nowhere"]


@pytest.mark.parametrize("worker_process", [AUTOSCALING], indirect=True)
def test_autoscale_bounds_move_on_an_autoscaling_worker(
    celery_runtime: Runtime, worker_process: subprocess.Popen[bytes]
) -> None:
    (figures,) = act(celery_runtime, "worker.stats", worker=WORKER)["workers"]
    assert figures["autoscale"] == [1, 3]
    scaled = act(celery_runtime, "worker.autoscale", worker=WORKER, min=2, max=5)
    assert scaled["autoscale"] == [2, 5]
    wait_for(
        lambda: len(_celery_stats(celery_runtime)["pool"]["processes"]) >= 2,
        timeout_s=30,
        what="the pool to reach the new minimum",
    )
    (after,) = act(celery_runtime, "worker.stats", worker=WORKER)["workers"]
    assert after["autoscale"] == [2, 5]
    with pytest.raises(ConflictError, match="not supported with autoscale"):
        act(celery_runtime, "worker.pool_grow", worker=WORKER, n=1)
