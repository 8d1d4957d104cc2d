"""Seeded data survives a running system: unfinished jobs run on real media and complete,
and no job ever holds a traceback or a validation dump as its error."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agentos.db.models import Clip, Job, ProcessingStep
from agentos.media.probe import probe
from agentos.schemas.jobs import JobStatus
from agentos.schemas.media import MediaInfo, Scene
from agentos.schemas.seed import SeedOptions
from agentos.services import jobs, queue
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import claims, step_runner, workers
from agentos.services.runtime import Runtime
from agentos.services.seed import reset_and_seed
from agentos.services.seed.demo import demo_dir
from agentos.settings import Settings

PATHS = [
    pytest.param({}, id="rows-from-python"),
    # PostgreSQL generates the rows itself from `server_side_from` up (SQLite ignores it).
    pytest.param({"server_side_from": 0, "batch_size": 16}, id="rows-from-sql"),
]
DUMPS = ("Traceback", "validation error", "errors.pydantic.dev")


def _seed(runtime: Runtime, **options: Any) -> dict[str, str]:
    """Seed; the status of every job as the seed left it."""
    result = reset_and_seed(runtime, options=SeedOptions(events=5, seed=21, **options))
    assert result.problems == []
    with runtime.session() as session:
        return {
            str(job_id): status for job_id, status in session.execute(select(Job.id, Job.status))
        }


def _jobs(runtime: Runtime) -> list[Job]:
    with runtime.session() as session:
        return list(session.scalars(select(Job)))


def _assert_readable_errors(runtime: Runtime) -> None:
    with runtime.session() as session:
        errors = list(session.scalars(select(Job.error).where(Job.error.is_not(None))))
        errors += session.scalars(
            select(ProcessingStep.error).where(ProcessingStep.error.is_not(None))
        )
    for error in errors:
        assert "\n" not in error, error
        assert not any(dump in error for dump in DUMPS), error


@pytest.mark.parametrize("path", PATHS)
def test_unfinished_seeded_jobs_point_at_valid_media(
    settings: Settings, runtime: Runtime, path: dict[str, int]
) -> None:
    _seed(runtime, jobs=40, **path)
    unfinished = [job for job in _jobs(runtime) if job.status in JobStatus.UNFINISHED]
    assert {job.status for job in unfinished} == {"pending", "queued", "processing"}
    sources = {job.source_path for job in unfinished}
    assert len(sources) == 1  # one demo video, shared
    source = Path(sources.pop() or "")
    assert source.is_relative_to(settings.uploads_dir)
    assert source.parent == demo_dir(settings)
    info = probe(source)  # valid media: the probe accepts it
    assert info.duration > 0
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    with runtime.session() as session:
        completed_scenes = dict(
            session.execute(
                select(ProcessingStep.job_id, ProcessingStep.output).where(
                    ProcessingStep.agent == "scenes", ProcessingStep.status == "completed"
                )
            ).all()
        )
    for job in unfinished:
        assert (job.source_sha256, job.source_size) == (digest, source.stat().st_size)
        stage = PIPELINE.index(job.current_stage or "ingest")
        if stage > PIPELINE.index("probe"):
            assert MediaInfo.model_validate(job.media_info).keyframes == info.keyframes
        else:
            assert job.media_info is None
        if stage > PIPELINE.index("scenes"):
            found = [Scene.model_validate(item) for item in completed_scenes[job.id]["scenes"]]
            assert len(found) >= 2  # cuts the clipper can cut at
    finished = [job for job in _jobs(runtime) if job.status in JobStatus.TERMINAL]
    assert finished
    assert all(job.source_path != str(source) for job in finished)


def _drive_all(runtime: Runtime, *, limit: int = 1000) -> list[str]:
    """Claim and run due steps in this thread until none is left; the outcomes."""
    outcomes: list[str] = []
    for _ in range(limit):
        with runtime.session() as session:
            claimed = claims.claim_next(session, agents=set(PIPELINE), worker_id="test-worker")
        if claimed is None:
            return outcomes
        outcomes.append(step_runner.run_step(runtime, claimed=claimed).status)
    raise AssertionError(f"still claiming after {limit} steps")


def test_a_worker_completes_every_unfinished_seeded_job(
    settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    # A runtime that counts the seed's workers as gone at once, so the reclaim re-queues
    # the steps they were "running" without waiting for their heartbeats to age.
    runtime = make_runtime(settings.model_copy(update={"worker_lost_after_s": 0.001}))
    seeded = _seed(runtime, jobs=30, server_side_from=0, batch_size=16)
    with runtime.session() as session:
        reclaimed = workers.reclaim_stale(session)
        pending = session.scalars(select(Job).where(Job.status == "pending")).all()
        for job in pending:  # nothing starts a pending job by itself: start them here
            jobs.enqueue_stage(session, job_id=job.id, agent=PIPELINE[0], job=job)
    assert len(reclaimed.requeued) == list(seeded.values()).count("processing")

    outcomes = _drive_all(runtime)

    assert set(outcomes) == {"completed"}
    final = {str(job.id): job for job in _jobs(runtime)}
    for job_id, status in seeded.items():
        job = final[job_id]
        if status in JobStatus.UNFINISHED:
            assert job.status == "completed", (status, job.current_stage, job.error)
        else:
            assert job.status == status
    with runtime.session() as session:
        made = session.scalars(
            select(Clip).where(Clip.job_id.in_([job.id for job in pending]))
        ).all()
    assert made
    assert all(clip.status == "ready" and Path(clip.path or "").is_file() for clip in made)
    assert all(Path(clip.thumbnail_path or "").is_file() for clip in made)
    _assert_readable_errors(runtime)


def test_a_large_seed_pauses_the_queue_and_says_so(embedded_runtime: Runtime) -> None:
    small = reset_and_seed(embedded_runtime, options=SeedOptions(jobs=12, events=0, seed=3))
    assert not small.queue_paused
    assert small.queue_message is None
    with embedded_runtime.session() as session:
        assert not queue.is_paused(session)

    # The threshold of a million-job seed, brought down to a test's size.
    options = SeedOptions(jobs=40, events=0, seed=3, pause_queue_from=5)
    large = reset_and_seed(embedded_runtime, options=options)

    runnable = large.jobs_by_status["queued"] + large.jobs_by_status["processing"]
    assert runnable >= 5
    assert large.queue_paused
    assert large.queue_message is not None
    assert "queue paused" in large.queue_message
    assert str(runnable) in large.queue_message
    assert large.problems == []
    with embedded_runtime.session() as session:
        assert queue.is_paused(session)
        assert claims.claim_next(session, agents=set(PIPELINE), worker_id="w") is None
