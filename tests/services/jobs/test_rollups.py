"""The job status and step rollups equal a direct GROUP BY on jobs and processing_steps, on
both deployments: after creates, transitions and claims (through the real services) and
deletes with their cascades, after compaction, after writes that bypass the services, and
after `rollups.rebuild`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from agentos.db.models import (
    Clip,
    Job,
    JobProgressMark,
    JobStatusDelta,
    JobStatusRollup,
    ProcessingStep,
)
from agentos.db.models.rollups import StepStatusDelta, StepStatusRollup
from agentos.services import jobs
from agentos.services.jobs import marks as jobs_marks
from agentos.services.jobs import rollups
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.pipeline import claims
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.jobs import make_actor, make_job

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _direct(session: Session, basis: str) -> dict[tuple[datetime, str], int]:
    column = Job.created_at if basis == "created" else Job.finished_at
    counts: dict[tuple[datetime, str], int] = {}
    for moment, status in session.execute(select(column, Job.status).where(column.is_not(None))):
        key = (moment.replace(minute=0, second=0, microsecond=0), status)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _rolled(session: Session, basis: str) -> dict[tuple[datetime, str], int]:
    hours = rollups.hourly(session, basis=basis, since=EPOCH)
    return {(hour, status): n for hour, counts in hours.items() for status, n in counts.items()}


def _assert_consistent(runtime: Runtime) -> None:
    with runtime.session() as session:
        for basis in ("created", "finished"):
            assert _rolled(session, basis) == _direct(session, basis), basis
        grouped = session.execute(select(Job.status, func.count().label("n")).group_by(Job.status))
        by_status = {row.status: row.n for row in grouped}
        assert sum(by_status.values()) == session.scalar(select(func.count()).select_from(Job))
        clips = session.scalar(select(func.count()).select_from(Clip))
        assert rollups.clip_count(session) == clips
        assert rollups.status_counts(session) == by_status
        steps = session.execute(
            select(ProcessingStep.agent, ProcessingStep.status, func.count()).group_by(
                ProcessingStep.agent, ProcessingStep.status
            )
        )
        direct_steps: dict[str, dict[str, int]] = {}
        for agent, status, count in steps:
            direct_steps.setdefault(agent, {})[status] = count
        statuses = tuple({status for counts in direct_steps.values() for status in counts})
        assert rollups.step_counts(session, statuses=(*statuses, "queued")) == direct_steps


def _mixed_writes(runtime: Runtime) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)
        actor = make_actor(session, role="admin")
        made = {
            status: make_job(session, actor, status)
            for status in ("queued", "processing", "completed", "failed", "cancelled")
        }
        extra = make_job(session, actor, "queued")
        for job in (made["completed"], made["queued"]):
            session.add_all(
                Clip(job_id=job.id, ordinal=n, start=n, end=n + 1, duration=1) for n in range(3)
            )
    with runtime.session() as session:
        jobs.retry(session, job_id=made["failed"].id, actor=actor)  # failed -> queued
        jobs.cancel(session, job_id=extra.id, actor=actor)
        jobs.delete(session, job_id=made["cancelled"].id, actor=actor)
        jobs.delete(session, job_id=made["completed"].id, actor=actor)  # its clips cascade
    with runtime.session() as session:
        # Writes that bypass the services (bulk SQL, an old hour) are counted too.
        old = datetime.now(UTC) - timedelta(hours=30)
        session.add(Job(title="imported", status="completed", created_at=old, finished_at=old))
        session.execute(update(Job).where(Job.id == made["queued"].id).values(created_at=old))
        session.execute(
            insert(ProcessingStep).values(
                job_id=made["queued"].id, agent="clipper", attempt=9, status="queued"
            )
        )
    with runtime.session() as session:
        claimed = claims.claim_next(session, agents={"ingest", "clipper"}, worker_id="test")
        assert claimed is not None  # queued -> running
        session.execute(
            delete(ProcessingStep).where(
                ProcessingStep.job_id == made["queued"].id, ProcessingStep.attempt == 9
            )
        )


def test_rollup_follows_every_job_write(settings: Settings, runtime: Runtime) -> None:
    _assert_consistent(runtime)
    _mixed_writes(runtime)
    _assert_consistent(runtime)
    marks = select(func.count()).select_from(JobProgressMark)
    with runtime.session() as session:
        assert session.scalar(marks)  # the pipeline's writes mark the progress columns
        assert rollups.compact(session) > 0
    with runtime.session() as session:
        # Nothing left to fold (SQLite keeps its newest delta, made 0, and its newest mark:
        # see rollups._clear_sqlite_deltas); PostgreSQL keeps its marks for `marks.KEPT_S`.
        if runtime.engine.dialect.name == "postgresql":
            assert session.scalar(marks)
        else:
            assert session.scalar(marks) == 1
    if runtime.engine.dialect.name == "postgresql":
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(jobs_marks, "KEPT_S", 0.0)  # the snapshot taken now is old enough
            with runtime.session() as session:
                assert rollups.compact(session) > 0
            with runtime.session() as session:
                assert session.scalar(marks) == 0
        assert session.scalar(select(func.count()).where(JobStatusDelta.delta != 0)) == 0
        assert session.scalar(select(func.min(JobStatusRollup.count))) > 0
        assert session.scalar(select(func.count()).select_from(StepStatusDelta)) == 0
        assert session.scalar(select(func.min(StepStatusRollup.count))) > 0
    _assert_consistent(runtime)
    _mixed_writes(runtime)  # deltas on top of a compacted rollup
    _assert_consistent(runtime)


def test_rebuild_recomputes_from_jobs(settings: Settings, runtime: Runtime) -> None:
    _mixed_writes(runtime)
    with runtime.session() as session:
        # Simulate drift: a rollup that lost track (e.g. rows loaded with triggers off).
        session.execute(update(JobStatusRollup).values(count=JobStatusRollup.count + 5))
        session.add(JobStatusRollup(basis="created", hour=EPOCH, status="queued", count=3))
        session.execute(update(StepStatusRollup).values(count=StepStatusRollup.count + 2))
    with runtime.session() as session:
        rows = rollups.rebuild(session)
        assert rows > 0
    with runtime.session() as session:
        # Nothing left to fold (SQLite keeps its newest delta, made 0: see rollups._clear_sqlite_deltas).
        assert session.scalar(select(func.count()).where(JobStatusDelta.delta != 0)) == 0
        assert session.scalar(select(func.count()).select_from(StepStatusDelta)) == 0
    _assert_consistent(runtime)


def test_the_deltas_dead_rows_are_vacuumed_once_there_are_many(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction deletes every delta; with autovacuum off (as on this machine) or late,
    the compacting process's VACUUM is what keeps the readers' scan short."""
    if runtime.engine.dialect.name != "postgresql":
        assert not rollups.vacuum_if_dead(runtime.engine)  # SQLite reuses freed pages
        return
    monkeypatch.setattr(rollups, "VACUUM_DEAD_ROWS", 5)
    vacuums = text(
        "SELECT vacuum_count + autovacuum_count FROM pg_stat_user_tables "
        "WHERE relid = 'job_status_deltas'::regclass"
    )
    with runtime.session() as session:
        for _ in range(3):
            make_job(session, make_actor(session), status="queued")
    with runtime.session() as session:
        assert rollups.compact(session) >= 3
        session.execute(text("SELECT pg_stat_force_next_flush()"))  # the deletes, counted
    with runtime.read_session() as session:
        before = session.scalar(vacuums)
    with runtime.session() as session:
        for _ in range(3):
            make_job(session, make_actor(session), status="queued")
        rollups.compact(session)
        session.execute(text("SELECT pg_stat_force_next_flush()"))
    assert rollups.vacuum_if_dead(runtime.engine)
    with runtime.read_session() as session:
        assert session.scalar(vacuums) == before + 1
    assert not rollups.vacuum_if_dead(runtime.engine)  # nothing dead left
