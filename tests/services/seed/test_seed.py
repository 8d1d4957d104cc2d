"""`reset_and_seed`: the four-step recovery on both deployments."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agentos.db.models import Clip, Job, ProcessingStep, SystemEvent, User
from agentos.schemas.seed import SeedOptions
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.runtime import Runtime
from agentos.services.schema_check import compare
from agentos.services.security.passwords import verify_password
from agentos.services.seed import clean_files, is_empty, reset_and_seed
from agentos.services.seed.demo import demo_dir
from agentos.settings import Settings

STATUSES = {"pending", "queued", "processing", "completed", "failed", "cancelled"}


def _seed(runtime: Runtime, **options: int) -> object:
    return reset_and_seed(runtime, options=SeedOptions(**options))


@pytest.mark.parametrize(
    "path",
    [
        pytest.param({}, id="rows-from-python"),
        # PostgreSQL generates the jobs itself from `server_side_from` up (SQLite ignores it);
        # a small batch makes it several statements.
        pytest.param({"server_side_from": 0, "batch_size": 9}, id="rows-from-sql"),
    ],
)
def test_reset_and_seed_writes_consistent_data_and_verifies(
    settings: Settings, runtime: Runtime, path: dict[str, int]
) -> None:
    cache = runtime.backends.cache
    cache.set(settings.ssot_cache_key, b"stale dashboard")
    phases: list[str] = []

    result = reset_and_seed(
        runtime,
        options=SeedOptions(jobs=40, events=30, seed=11, **path),
        progress=lambda phase, done, total: phases.append(phase),
    )

    assert result.problems == []
    assert result.schema_report.differences == []
    assert cache.get(settings.ssot_cache_key) is None
    assert {"reset", "jobs", "events", "verify"} <= set(phases)
    assert set(result.jobs_by_status) == STATUSES
    assert sum(result.jobs_by_status.values()) == 40
    counts = {item.table: item.rows for item in result.tables}
    assert counts["jobs"] == 40
    assert counts["system_events"] == 30
    assert counts["agents"] == 6
    assert result.total_rows == sum(counts.values())
    with runtime.session() as session:
        jobs = list(session.scalars(select(Job)))
        steps = list(session.scalars(select(ProcessingStep)))
        clips = list(session.scalars(select(Clip)))
        events = list(session.scalars(select(SystemEvent)))
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        owners = {user.id for user in session.scalars(select(User))}
    assert Counter(job.status for job in jobs) == Counter(result.jobs_by_status)
    assert {job.owner_id for job in jobs} <= owners
    _assert_steps_match_status(jobs, steps)
    _assert_clips_match_status(jobs, clips)
    assert {event.severity for event in events} == {"debug", "info", "warning", "error", "critical"}
    acknowledged = [event for event in events if event.acknowledged_at is not None]
    assert acknowledged
    assert all(event.acknowledged_by == admin.id for event in acknowledged)
    assert admin.role == "admin"
    assert admin.must_change_password
    assert admin.password_hash
    assert verify_password(admin.password_hash, result.admin_password)


def _assert_steps_match_status(jobs: list[Job], steps: list[ProcessingStep]) -> None:
    by_job: dict[object, list[ProcessingStep]] = {}
    for step in steps:
        by_job.setdefault(step.job_id, []).append(step)
    now = datetime.now(UTC)
    for job in jobs:
        mine = sorted(by_job.get(job.id, []), key=lambda s: (PIPELINE.index(s.agent), s.attempt))
        statuses = [step.status for step in mine]
        day_ago = now - timedelta(hours=24, minutes=1)
        assert day_ago <= job.created_at <= now
        if job.status == "pending":
            assert mine == []
            assert job.started_at is None
            continue
        assert job.queued_at is not None
        assert job.created_at <= job.queued_at
        if job.status == "completed":
            assert [s.agent for s in mine] == list(PIPELINE)
            assert set(statuses) == {"completed"}
            assert all(s.duration_ms and s.duration_ms > 0 for s in mine)
            assert job.finished_at is not None
            assert job.progress == 1.0
            continue
        last = mine[-1]
        assert all(s == "completed" for s in statuses[: PIPELINE.index(last.agent)])
        assert last.agent == job.current_stage
        if job.status == "queued":
            assert last.status == "queued"
            assert last.priority == job.priority
            assert last.started_at is None
        elif job.status == "processing":
            assert last.status == "running"
            assert last.worker_id
            assert last.heartbeat_at is not None
            assert now - last.heartbeat_at < timedelta(minutes=1)
        elif job.status == "failed":
            assert last.status == "failed"
            assert last.error
            assert job.error
            assert job.error_code
            assert job.attempts == last.attempt
        else:
            assert last.status == "cancelled"
            assert job.cancel_requested


def _assert_clips_match_status(jobs: list[Job], clips: list[Clip]) -> None:
    """Completed jobs have their (ready) clips; a queued or processing job past the clipper
    has the demo video's (pending) clips; no other job has any."""
    by_id = {job.id: job for job in jobs}
    assert clips
    cut = PIPELINE.index("clipper")
    completed = {job.id for job in jobs if job.status == "completed"}
    waiting = {
        job.id
        for job in jobs
        if job.status in {"queued", "processing"} and PIPELINE.index(job.current_stage or "") > cut
    }
    assert {clip.job_id for clip in clips} == completed | waiting
    for clip in clips:
        assert clip.status == ("ready" if clip.job_id in completed else "pending")
        job = by_id[clip.job_id]
        if clip.job_id in waiting:
            assert clip.path is not None
            assert Path(clip.path).is_file()
            assert (clip.thumbnail_path is not None) == (job.current_stage == "publish")
        assert 0 <= clip.start < clip.end
        assert abs(clip.duration - (clip.end - clip.start)) < 0.01
        assert clip.width
        assert clip.height
        assert clip.fps
        assert clip.codec
        assert clip.size_bytes


def test_same_seed_same_data(embedded_settings: Settings, embedded_runtime: Runtime) -> None:
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    def snapshot() -> list[tuple[object, ...]]:
        reset_and_seed(embedded_runtime, options=SeedOptions(jobs=15, events=5, seed=5), now=now)
        with embedded_runtime.session() as session:
            rows = session.execute(
                select(Job.id, Job.status, Job.priority, Job.created_at).order_by(Job.id)
            )
            return [tuple(row) for row in rows]

    assert snapshot() == snapshot()


def test_server_side_path_is_deterministic_and_ignores_other_seeds(
    settings: Settings, runtime: Runtime
) -> None:
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    def snapshot(seed: int) -> tuple[list[tuple[object, ...]], int, int]:
        options = SeedOptions(jobs=30, events=10, seed=seed, server_side_from=0, batch_size=8)
        result = reset_and_seed(runtime, options=options, now=now)
        assert result.problems == []
        with runtime.session() as session:
            jobs = session.execute(
                select(Job.id, Job.status, Job.priority, Job.created_at, Job.title).order_by(Job.id)
            )
            steps = session.scalar(select(func.count()).select_from(ProcessingStep))
            clips = session.scalar(select(func.count()).select_from(Clip))
            return [tuple(row) for row in jobs], int(steps or 0), int(clips or 0)

    first = snapshot(5)
    assert snapshot(5) == first
    assert snapshot(6)[0] != first[0]


def test_reset_replaces_previous_data_and_clean_removes_files(
    settings: Settings, runtime: Runtime
) -> None:
    _seed(runtime, jobs=8, events=3, seed=1)
    assert not is_empty(runtime)
    demo_files = {path for path in demo_dir(settings).rglob("*") if path.is_file()}
    assert demo_files  # the demo video and what the stages made of it
    for directory in (settings.uploads_dir, settings.clips_dir, settings.backups_dir):
        (directory / "nested").mkdir(parents=True, exist_ok=True)
        (directory / "nested" / "file.bin").write_bytes(b"x")
        (directory / "top.bin").write_bytes(b"y")

    result = reset_and_seed(runtime, options=SeedOptions(jobs=6, events=2, seed=2, clean=True))

    assert result.problems == []
    assert result.removed_files == 6 + len(demo_files)
    assert {item.table: item.rows for item in result.tables}["jobs"] == 6
    # Only the new seed's demo media is left.
    assert [path.name for path in settings.uploads_dir.iterdir()] == [demo_dir(settings).name]
    assert {path for path in demo_dir(settings).rglob("*") if path.is_file()} == demo_files
    assert all(
        directory.is_dir() and not any(directory.iterdir())
        for directory in (settings.clips_dir, settings.backups_dir)
    )
    assert clean_files(settings) == len(demo_files)
    assert compare(runtime.engine).differences == []


def test_zero_jobs_is_a_valid_seed(embedded_runtime: Runtime) -> None:
    result = reset_and_seed(embedded_runtime, options=SeedOptions(jobs=0, events=0, seed=9))
    assert result.problems == []
    assert {item.table: item.rows for item in result.tables}["users"] >= 2
