"""The worker actions against embedded runners: requests answered over the bus by the
runner's pools, in this process and from another process on the same home.

On the distributed fixture the runner is still an embedded one and the bus is Redis (the
bus transport is chosen explicitly), so the request/reply is exercised on both buses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agentos.db.models import Job, ProcessingStep, Worker
from agentos.errors import ConflictError, InvalidError, NotFoundError
from agentos.services import agents
from agentos.services.actions import pipeline
from agentos.services.context import SYSTEM_ACTOR, Actor
from agentos.services.pipeline import worker_control
from agentos.services.pipeline.embedded_runner import EmbeddedRunner
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.pipeline import make_video, submit, wait_for

OPERATOR = Actor(name="op", role="operator", source="cli")
READONLY = Actor(name="viewer", role="readonly", source="cli")
AGENTOS = str(Path(sys.executable).with_name("agentos"))


@pytest.fixture
def fast(settings: Settings, make_runtime: Callable[[Settings], Runtime]) -> Runtime:
    runtime = make_runtime(
        settings.model_copy(
            update={
                "cancel_check_interval_s": 0.05,
                "runner_poll_interval_s": 0.1,
                "heartbeat_interval_s": 0.2,
                "bus_poll_interval_s": 0.05,
                "worker_reply_timeout_s": 3.0,
            }
        )
    )
    worker_control.use(runtime, worker_control.BusWorkerControl)
    return runtime


@pytest.fixture
def runner(fast: Runtime) -> Iterator[EmbeddedRunner]:
    started = EmbeddedRunner(fast, name=f"embedded-{uuid.uuid4().hex[:6]}@test")
    started.start()
    yield started
    started.stop()


def act(runtime: Runtime, action: str, actor: Actor = OPERATOR, **payload: Any) -> Any:
    with runtime.session() as session:
        return pipeline.execute(session, actor=actor, action=action, payload=payload).result


def add_ghost(runtime: Runtime, name: str) -> None:
    """A worker row that says online but has no runner behind it."""
    with runtime.session() as session:
        from agentos.services.pipeline import workers

        workers.worker_heartbeat(session, name=name, kind="embedded", agents=[], concurrency=1)


def test_ping_answers_with_latency_and_reports_absent_workers(
    fast: Runtime, runner: EmbeddedRunner
) -> None:
    add_ghost(fast, "ghost@nowhere")
    result = act(fast, "worker.ping")
    replies = {reply["worker"]: reply for reply in result["replies"]}
    assert replies[runner.name]["ok"] is True
    assert replies[runner.name]["latency_ms"] >= 0
    assert result["missing"] == ["ghost@nowhere"]
    one = act(fast, "worker.ping", worker=runner.name)
    assert [reply["worker"] for reply in one["replies"]] == [runner.name]
    assert one["missing"] == []


def test_stats_come_from_the_runner_itself(fast: Runtime, runner: EmbeddedRunner) -> None:
    result = act(fast, "worker.stats", worker=runner.name)
    (figures,) = result["workers"]
    assert figures["worker"] == runner.name
    assert figures["kind"] == "embedded"
    assert figures["pid"] == os.getpid()
    assert figures["memory_bytes"] > 0
    assert len(figures["load_avg"]) == 3
    with runner.lock:
        assert figures["pool_size"] == runner.effective_pool_size()
    assert figures["active"] == []


def test_pool_grows_and_shrinks_and_refuses_below_one(
    fast: Runtime, runner: EmbeddedRunner
) -> None:
    before = act(fast, "worker.stats", worker=runner.name)["workers"][0]["pool_size"]
    grown = act(fast, "worker.pool_grow", worker=runner.name, n=3)
    assert (grown["before"], grown["after"]) == (before, before + 3)
    shrunk = act(fast, "worker.pool_shrink", worker=runner.name, n=2)
    assert shrunk["after"] == before + 1
    assert runner.pool_size == before + 1
    with pytest.raises(ConflictError, match="cannot shrink"):
        act(fast, "worker.pool_shrink", worker=runner.name, n=before + 1)
    with pytest.raises(NotFoundError, match="no online embedded worker"):
        act(fast, "worker.pool_grow", worker="nobody@nowhere", n=1)


def test_a_pool_of_one_runs_one_stage_at_a_time(
    fast: Runtime, runner: EmbeddedRunner, tmp_path: Path, slow_scenes: None
) -> None:
    with fast.session() as session:
        for name in ("ingest", "probe", "scenes"):
            agents.set_concurrency(session, agent=name, concurrency=4, actor=SYSTEM_ACTOR)
    # The shrink counts from the pool the runner has when it answers, so read `before`
    # only once the runner has the new concurrency (on Redis the news takes a moment).
    wait_for(
        lambda: all(
            runner.stats()["agents"][name]["concurrency"] == 4
            for name in ("ingest", "probe", "scenes")
        ),
        timeout_s=10,
        what="the runner to apply the new concurrency",
    )
    with runner.lock:
        before = runner.effective_pool_size()
    shrunk = act(fast, "worker.pool_shrink", worker=runner.name, n=before - 1)
    assert shrunk["after"] == 1
    video = make_video(tmp_path)
    job_ids = [submit(fast, video) for _ in range(3)]
    seen: list[int] = []

    def busy() -> bool:
        with runner.lock:
            seen.append(len(runner.running))
        return all(_job_done(fast, job_id) for job_id in job_ids)

    wait_for(busy, timeout_s=120, what="the three jobs")
    assert max(seen) == 1


def _job_done(runtime: Runtime, job_id: uuid.UUID) -> bool:
    with runtime.read_session() as session:
        return session.scalar(select(Job.status).where(Job.id == job_id)) == "completed"


def test_autoscale_follows_the_backlog_within_its_bounds(
    fast: Runtime, runner: EmbeddedRunner
) -> None:
    result = act(fast, "worker.autoscale", worker=runner.name, min=2, max=5)
    assert result["autoscale"] == [2, 5]
    assert 2 <= result["after"] <= 5
    # Idle: the pool settles at the lower bound.
    wait_for(lambda: runner.effective_pool_size() == 2, timeout_s=20, what="the pool at min")
    with pytest.raises(InvalidError, match="min"):
        act(fast, "worker.autoscale", worker=runner.name, min=6, max=5)
    with pytest.raises(ConflictError, match="not supported with autoscale"):
        act(fast, "worker.pool_grow", worker=runner.name, n=1)  # as Celery refuses it


def test_revoke_cancels_a_queued_stage_and_refuses_a_running_one_without_terminate(
    fast: Runtime, tmp_path: Path
) -> None:
    job_id = submit(fast, make_video(tmp_path))  # no runner: the first stage waits
    with fast.session() as session:
        step = session.scalar(select(ProcessingStep).where(ProcessingStep.job_id == job_id))
        assert step is not None
        step_id = step.id
    result = act(fast, "worker.revoke_task", task_id=str(step_id))
    assert result["step_status"] == "queued"
    assert result["job_status"] == "cancelled"
    assert result["terminated"] is False
    with pytest.raises(ConflictError, match="already ended"):
        act(fast, "worker.revoke_task", task_id=str(step_id))
    with pytest.raises(NotFoundError):
        act(fast, "worker.revoke_task", task_id="no-such-task")


def test_revoke_with_terminate_stops_a_running_stage(
    fast: Runtime, runner: EmbeddedRunner, tmp_path: Path, slow_scenes: None
) -> None:
    job_id = submit(fast, make_video(tmp_path))

    def running_scenes() -> uuid.UUID | None:
        with fast.read_session() as session:
            return session.scalar(
                select(ProcessingStep.id).where(
                    ProcessingStep.job_id == job_id,
                    ProcessingStep.agent == "scenes",
                    ProcessingStep.status == "running",
                )
            )

    wait_for(lambda: running_scenes() is not None, timeout_s=60, what="the scenes stage")
    step_id = running_scenes()
    with pytest.raises(ConflictError, match="terminate"):
        act(fast, "worker.revoke_task", task_id=str(step_id))
    result = act(fast, "worker.revoke_task", task_id=str(step_id), terminate=True)
    assert result["terminated"] is True
    wait_for(lambda: not runner.running, timeout_s=30, what="the stage to stop")
    with fast.read_session() as session:
        assert session.scalar(select(Job.status).where(Job.id == job_id)) == "cancelled"


def test_shutdown_needs_confirmation_then_stops_the_runner_warm(
    fast: Runtime, runner: EmbeddedRunner
) -> None:
    with pytest.raises(InvalidError, match="confirm"):
        act(fast, "worker.shutdown", worker=runner.name)
    rehearsal = act(fast, "worker.shutdown", worker=runner.name, dry_run=True)
    assert rehearsal == {"worker": runner.name, "running": 0, "offline": False, "dry_run": True}
    assert not runner.draining.is_set()
    result = act(fast, "worker.shutdown", worker=runner.name, confirm=True)
    assert result["offline"] is True
    with fast.read_session() as session:
        status = session.scalar(select(Worker.status).where(Worker.name == runner.name))
    assert status == "offline"
    assert act(fast, "worker.ping")["replies"] == []


def test_read_only_viewers_may_ping_but_not_resize(fast: Runtime, runner: EmbeddedRunner) -> None:
    assert act(fast, "worker.ping", READONLY)["replies"]
    from agentos.errors import ForbiddenError

    with pytest.raises(ForbiddenError):
        act(fast, "worker.pool_grow", READONLY, worker=runner.name, n=1)


@pytest.mark.usefixtures("runner")
def test_another_process_reaches_the_runner_over_the_bus(
    fast: Runtime, runner: EmbeddedRunner, embedded_only: None
) -> None:
    """`agentos action worker.stats` from a separate process answers from this one's pools."""
    settings = fast.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
    env.update(AGENTOS_HOME=str(settings.home_dir), AGENTOS_BUS_POLL_INTERVAL_S="0.05")
    completed = subprocess.run(
        [AGENTOS, "action", "worker.stats", f"worker={runner.name}", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    (figures,) = answer["result"]["workers"]
    assert figures["pid"] == os.getpid()
    assert answer["result"]["missing"] == []


@pytest.fixture
def embedded_only(settings: Settings) -> None:
    if not settings.is_embedded:
        pytest.skip("the other process shares the home's SQLite bus (embedded only)")
