"""Celery: real `agentos worker` processes on the Redis broker and PostgreSQL (distributed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agentos.db.models import Clip, ProcessingStep, Worker
from agentos.schemas.work import QueuedStep
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tasks.control import CeleryRunner
from tests.support import celery, services
from tests.support.pipeline import (
    assert_completed_pipeline,
    make_video,
    steps,
    submit,
    wait_for,
    wait_terminal,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
AGENTOS = str(Path(sys.executable).with_name("agentos"))
CELERY = str(Path(sys.executable).with_name("celery"))


@pytest.fixture
def celery_settings(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    result = celery.celery_settings(
        postgres_url,
        redis_url,
        tmp_path / "home",
        heartbeat_interval_s=0.5,
        worker_lost_after_s=2.0,
        cancel_check_interval_s=0.1,
        celery_visibility_timeout_s=3,
        celery_dispatch_sweep_s=0.5,
        celery_send_grace_s=2.0,
    )
    yield result
    services.flush_redis_prefix(result)


@pytest.fixture
def start_worker(
    celery_settings: Settings, celery_runtime: Runtime, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *, slow_scenes: bool = False) -> subprocess.Popen[bytes]:
        process = celery.start_worker(
            celery_settings,
            ["--concurrency", "1", "--name", f"{name}@localhost"],
            log=tmp_path / f"{name}.log",
            slow_scenes=slow_scenes,
        )
        started.append(process)
        wait_for(
            lambda: _online(celery_runtime, f"{name}@localhost"),
            timeout_s=60,
            what=f"worker {name} to report in",
        )
        return process

    yield start
    for process in started:
        celery.stop_worker(process)


def _online(runtime: Runtime, name: str) -> bool:
    with runtime.session() as session:
        status = session.scalar(select(Worker.status).where(Worker.name == name))
    return status == "online"


@pytest.fixture
def sender(celery_settings: Settings, celery_runtime: Runtime) -> Iterator[CeleryRunner]:
    runner = CeleryRunner(celery_runtime)
    runner.start()
    yield runner
    runner.stop()


def test_a_worker_process_runs_a_job_and_is_an_ordinary_celery_worker(
    celery_settings: Settings,
    celery_runtime: Runtime,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    sender: CeleryRunner,
    tmp_path: Path,
) -> None:
    start_worker("alpha")
    job_id = submit(celery_runtime, make_video(tmp_path))
    assert wait_terminal(celery_runtime, job_id).status == "completed"
    assert_completed_pipeline(celery_runtime, job_id)
    assert {s.worker_id for s in steps(celery_runtime, job_id)} == {"alpha@localhost"}
    inspected = subprocess.run(
        [CELERY, "-A", "agentos.tasks.app", "inspect", "active_queues", "--json", "-t", "5"],
        env=celery.worker_env(celery_settings),
        capture_output=True,
        check=True,
        text=True,
    )
    replies = json.loads(inspected.stdout)
    queues = {q["name"] for q in replies["alpha@localhost"]}
    assert {"ingest", "probe", "scenes", "clipper", "thumbs", "publish"} <= queues
    stats = sender.stats()
    assert "alpha@localhost" in stats["workers"]


def test_killed_worker_mid_job_is_replaced_and_the_job_completes_once(
    celery_settings: Settings,
    celery_runtime: Runtime,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    sender: CeleryRunner,
    tmp_path: Path,
) -> None:
    doomed = start_worker("doomed", slow_scenes=True)
    job_id = submit(celery_runtime, make_video(tmp_path, scenes=10, scene_s=4.0))

    def scenes_running() -> bool:
        return any(
            s.agent == "scenes" and s.status == "running" and s.progress > 0
            for s in steps(celery_runtime, job_id)
        )

    wait_for(scenes_running, timeout_s=60, what="the doomed worker to be mid-stage")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    start_worker("rescuer")
    assert wait_terminal(celery_runtime, job_id, timeout_s=120).status == "completed"
    assert_completed_pipeline(celery_runtime, job_id, scenes=10, scene_s=4.0)
    rows = steps(celery_runtime, job_id)
    assert [s.agent for s in rows] == ["ingest", "probe", "scenes", "clipper", "thumbs", "publish"]
    scenes_step = next(s for s in rows if s.agent == "scenes")
    assert scenes_step.worker_id == "rescuer@localhost"
    with celery_runtime.session() as session:
        count = session.scalar(select(func.count()).where(Clip.job_id == job_id))
        completed = session.scalar(
            select(func.count()).where(
                ProcessingStep.job_id == job_id, ProcessingStep.status == "completed"
            )
        )
    assert count == 10
    assert completed == 6


@pytest.fixture
def celery_runtime(celery_settings: Settings) -> Iterator[Runtime]:
    built = Runtime(celery_settings)
    yield built
    built.close()


class DyingSender:
    """A sender that reserves messages in its commits and dies before sending any."""

    def __init__(self) -> None:
        self.reserved: list[str] = []

    def wake(self, agent: str) -> None:
        """Dead: wakes nobody."""

    def send_step(self, step: QueuedStep, task_id: str) -> None:
        self.reserved.append(task_id)


def test_a_step_whose_sender_died_between_commit_and_send_is_sent_again(
    celery_runtime: Runtime,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    dying = DyingSender()
    celery_runtime.dispatch.register(dying)
    job_id = submit(celery_runtime, make_video(tmp_path))
    celery_runtime.dispatch.unregister(dying)
    (first,) = steps(celery_runtime, job_id)
    assert first.task_id == dying.reserved[0]
    assert first.task_sent_at is None
    start_worker("sweeper")
    assert wait_terminal(celery_runtime, job_id, timeout_s=120).status == "completed"
    assert_completed_pipeline(celery_runtime, job_id)
    rows = steps(celery_runtime, job_id)
    assert [(s.agent, s.status) for s in rows] == [
        (agent, "completed")
        for agent in ("ingest", "probe", "scenes", "clipper", "thumbs", "publish")
    ]
    ingest = rows[0]
    assert ingest.task_id != dying.reserved[0]  # reserved again, then sent
    with celery_runtime.session() as session:
        assert session.scalar(select(func.count()).where(Clip.job_id == job_id)) == 3
