"""The embedded runner: thread pools claiming from the database, on both databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agentos.db.models import ProcessingStep, Worker
from agentos.services import agents, jobs
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.pipeline import runner as runner_registry
from agentos.services.pipeline.embedded_runner import EmbeddedRunner
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.pipeline import (
    assert_completed_pipeline,
    job_row,
    make_video,
    steps,
    submit,
    wait_for,
    wait_terminal,
)


@pytest.fixture
def fast(settings: Settings, make_runtime: Callable[[Settings], Runtime]) -> Runtime:
    return make_runtime(
        settings.model_copy(
            update={
                "cancel_check_interval_s": 0.05,
                "runner_poll_interval_s": 0.1,
                "heartbeat_interval_s": 0.2,
            }
        )
    )


@pytest.fixture
def runner(fast: Runtime) -> Iterator[EmbeddedRunner]:
    started = EmbeddedRunner(fast, name="embedded-test@host")
    started.start()
    yield started
    started.stop()


def test_runs_a_job_end_to_end(fast: Runtime, runner: EmbeddedRunner, tmp_path: Path) -> None:
    job_id = submit(fast, make_video(tmp_path))
    assert wait_terminal(fast, job_id).status == "completed"
    assert_completed_pipeline(fast, job_id)
    assert runner_registry.current(fast) is runner
    stats = runner.stats()
    assert stats["tasks_done"] == 6
    assert stats["agents"]["clipper"]["active"] == 0
    with fast.session() as session:
        worker = session.scalar(select(Worker).where(Worker.name == runner.name))
        assert worker is not None
        assert worker.status == "online"
        assert worker.memory_bytes


def test_work_queued_by_another_process_is_found_by_polling(fast: Runtime, tmp_path: Path) -> None:
    job_id = submit(fast, make_video(tmp_path))  # queued before any runner exists
    started = EmbeddedRunner(fast, name="late@host")
    started.start()
    try:
        assert wait_terminal(fast, job_id).status == "completed"
    finally:
        started.stop()


@pytest.mark.usefixtures("slow_scenes")
def test_cancel_mid_stage_frees_the_slot(
    fast: Runtime, runner: EmbeddedRunner, tmp_path: Path
) -> None:
    with fast.session() as session:
        agents.set_concurrency(session, agent="scenes", concurrency=1, actor=SYSTEM_ACTOR)
    long_job = submit(fast, make_video(tmp_path, scenes=12, scene_s=4.0))

    def scenes_running() -> bool:
        return any(
            s.agent == "scenes" and s.status == "running" and s.progress > 0
            for s in steps(fast, long_job)
        )

    wait_for(scenes_running, timeout_s=60, what="scene analysis to start")
    with fast.session() as session:
        jobs.cancel(session, job_id=long_job, actor=SYSTEM_ACTOR)
    wait_for(
        lambda: runner.stats()["agents"]["scenes"]["active"] == 0,
        timeout_s=10,
        what="the scenes slot to be freed",
    )
    assert job_row(fast, long_job).status == "cancelled"
    # The freed slot takes the next job.
    next_job = submit(fast, make_video(tmp_path))
    assert wait_terminal(fast, next_job).status == "completed"


def test_concurrency_and_stop_follow_the_agents_table(
    fast: Runtime, runner: EmbeddedRunner, tmp_path: Path
) -> None:
    with fast.session() as session:
        agents.stop(session, agent="probe", actor=SYSTEM_ACTOR)
        agents.set_concurrency(session, agent="ingest", concurrency=3, actor=SYSTEM_ACTOR)
    wait_for(
        lambda: runner.stats()["agents"]["ingest"]["concurrency"] == 3,
        timeout_s=5,
        what="the ingest pool to grow",
    )
    job_id = submit(fast, make_video(tmp_path))

    def waiting_at_probe() -> bool:
        return [(s.agent, s.status) for s in steps(fast, job_id)] == [
            ("ingest", "completed"),
            ("probe", "queued"),
        ]

    wait_for(waiting_at_probe, timeout_s=30, what="the job to wait at the stopped probe agent")
    with fast.session() as session:
        queued = session.scalar(
            select(ProcessingStep.status).where(
                ProcessingStep.job_id == job_id, ProcessingStep.agent == "probe"
            )
        )
        assert queued == "queued"
        agents.start(session, agent="probe", actor=SYSTEM_ACTOR)
    assert wait_terminal(fast, job_id).status == "completed"


def test_serving_names_the_online_workers_of_an_agent(
    fast: Runtime, runner: EmbeddedRunner
) -> None:
    from agentos.services.pipeline import workers

    with fast.session() as session:
        assert workers.serving(session, "ingest") == [runner.name]
        workers.worker_offline(session, name=runner.name)
        assert workers.serving(session, "ingest") == []
