"""The exact figures (`figures_read`, `jobs.failed`, `analytics.agent_hours`) on both
deployments: counts over every row of known data (1500 failed jobs: more than the TUI's old
sample of 1000), exact percentiles, who may read them, and the indexes that serve them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from agentos.db.models import AuditRecord
from agentos.errors import ForbiddenError
from agentos.schemas.figures import FiguresPart
from agentos.services.actions import figures_read
from agentos.services.analytics.agent_hours import agent_figures
from agentos.services.context import Actor
from agentos.services.jobs import failed
from agentos.services.jobs.failed import failure_figures, retry_figures
from agentos.services.runtime import Runtime
from tests.support.figures import FAILED_CODES, Known, expected_window_counts, seed_figures

ADMIN = Actor(name="figures-admin", role="admin", source="tui")


@pytest.fixture
def known(runtime: Runtime) -> Known:
    return seed_figures(runtime, datetime.now(UTC))


@pytest.fixture
def session(runtime: Runtime, known: Known) -> Iterator[Session]:
    with runtime.read_session() as session:
        yield session


def test_failed_jobs_are_counted_by_code_over_every_row(session: Session, known: Known) -> None:
    figures = failure_figures(session, now=known.now)
    assert (figures.failed_jobs, figures.codes) == (1500, 3)
    assert [(group.error_code, group.jobs) for group in figures.groups] == [
        ("FFMPEG_TIMEOUT", 700),
        ("PROBE_FAILED", 500),
        (None, 300),
    ]
    for group in figures.groups:
        code = group.error_code
        assert group.last_hour == expected_window_counts(code, 1)
        assert group.last_24h == expected_window_counts(code, 24)
        assert group.latest_error == f"{code or 'odd'} happened to job 0"
        assert group.last_failed_at is not None
        assert abs(group.last_failed_at - (known.now - timedelta(minutes=1.25))) < timedelta(
            seconds=1
        )
    by_code = {group.error_code: group.stages for group in figures.groups}
    assert by_code == {
        "FFMPEG_TIMEOUT": {"clipper": 600, "thumbs": 100},
        "PROBE_FAILED": {"probe": 500},
        None: {"scenes": 100, "ingest": 200},
    }
    assert figures.group_jobs == []


def test_only_the_largest_groups_are_listed_and_the_totals_count_all(
    session: Session, known: Known, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(failed, "MAX_GROUPS", 2)
    figures = failure_figures(session, now=known.now)
    assert (figures.failed_jobs, figures.codes) == (1500, 3)
    assert [group.error_code for group in figures.groups] == ["FFMPEG_TIMEOUT", "PROBE_FAILED"]


def test_a_codes_newest_jobs_are_listed_and_no_code_is_the_empty_code(
    session: Session, known: Known
) -> None:
    timeouts = failure_figures(session, now=known.now, error_code="FFMPEG_TIMEOUT")
    assert len(timeouts.group_jobs) == timeouts.jobs_limit == 200
    assert [job.title for job in timeouts.group_jobs[:2]] == [
        "FFMPEG_TIMEOUT-0000.mp4",
        "FFMPEG_TIMEOUT-0001.mp4",
    ]
    assert {job.error_code for job in timeouts.group_jobs} == {"FFMPEG_TIMEOUT"}
    assert all(job.status.value == "failed" for job in timeouts.group_jobs)
    nocode = failure_figures(session, now=known.now, error_code="", jobs_limit=5)
    assert [job.title for job in nocode.group_jobs] == [f"nocode-{i:04d}.mp4" for i in range(5)]
    assert failure_figures(session, now=known.now, error_code="NO_SUCH").group_jobs == []


def test_retries_waiting_with_their_next_attempt(session: Session, known: Known) -> None:
    figures = retry_figures(session, now=known.now)
    assert (figures.waiting, figures.due) == (3, 1)
    assert [retry.job_id for retry in figures.retries] == [
        known.retry_jobs[name] for name in ("due", "soon", "after_cancel")
    ]
    due, soon, after_cancel = figures.retries
    assert (due.agent, due.attempt, due.max_attempts) == ("scenes", 2, 3)
    assert (due.last_error_code, due.last_error, due.last_status) == (
        "SCENES_OOM",
        "out of memory",
        "failed",
    )
    assert soon.next_attempt_at - known.now == timedelta(minutes=10)
    assert (soon.title, soon.last_error_code) == ("retry-soon.mp4", "PROBE_CRASH")
    assert (after_cancel.attempt, after_cancel.last_status) == (3, "cancelled")
    assert after_cancel.last_error is None
    assert len(retry_figures(session, now=known.now, limit=1).retries) == 1


def test_steps_per_agent_and_hour_with_exact_percentiles(session: Session, known: Known) -> None:
    figures = agent_figures(session, now=known.now)
    hour = known.now.replace(minute=0, second=0, microsecond=0)
    assert figures.hours == 24
    assert figures.since == hour - timedelta(hours=23)
    series = {item.agent: item for item in figures.agents}
    assert list(series) == ["ingest", "probe", "scenes", "clipper", "thumbs", "publish"]
    probe, scenes = series["probe"], series["scenes"]
    assert (probe.completed, probe.failed) == (5, 1)
    assert probe.mean_ms == pytest.approx(920.0)
    assert probe.p50_ms == pytest.approx(300.0)
    assert probe.p95_ms == pytest.approx(2600.0)  # 1000 + 0.8 * (3000 - 1000)
    assert [point.hour for point in probe.hours] == [
        figures.since + timedelta(hours=n) for n in range(24)
    ]
    points = {point.hour: point for point in probe.hours}
    last = points[hour - timedelta(hours=1)]
    assert (last.completed, last.failed) == (3, 1)
    assert (last.mean_ms, last.p50_ms, last.p95_ms) == pytest.approx((200.0, 200.0, 290.0))
    early = points[hour - timedelta(hours=5)]
    assert (early.completed, early.p50_ms, early.p95_ms) == (2, 2000.0, pytest.approx(2900.0))
    quiet = [point for point in probe.hours if point.hour not in (last.hour, early.hour)]
    assert all(point.completed == point.failed == 0 and point.p95_ms is None for point in quiet)
    assert (scenes.completed, scenes.failed) == (1200, 300)
    assert scenes.p50_ms == pytest.approx(600.5)
    assert scenes.p95_ms == pytest.approx(1140.05)  # 0.95 * 1199 = 1139.05 -> 1140 + 0.05
    assert points[hour - timedelta(hours=1)].p50_ms == pytest.approx(200.0)
    assert series["ingest"].completed == series["ingest"].failed == 0
    assert series["ingest"].p50_ms is None


def test_the_read_returns_the_parts_asked_for(runtime: Runtime, known: Known) -> None:
    with runtime.read_session() as session:
        every = figures_read.read(session, actor=ADMIN)
        only = figures_read.read(
            session, actor=ADMIN, parts=[FiguresPart.retries], error_code="PROBE_FAILED"
        )
    assert every.failures is not None
    assert every.failures.failed_jobs == 1500
    assert every.retries is not None
    assert every.retries.waiting == 3
    assert every.agents is not None
    assert len(every.agents.agents) == 6
    assert only.failures is None
    assert only.agents is None
    assert only.retries is not None


@pytest.mark.parametrize("role", ["operator", "supervisor", "readonly"])
def test_admin_read_roles_may_read(runtime: Runtime, known: Known, role: str) -> None:
    with runtime.read_session() as session:
        read = figures_read.read(session, actor=Actor(name=role, role=role, source="tui"))
    assert read.failures is not None
    assert len(read.failures.groups) == len(FAILED_CODES)


def test_a_user_is_refused_and_the_refusal_audited(runtime: Runtime, known: Known) -> None:
    with runtime.read_session() as session, pytest.raises(ForbiddenError):
        figures_read.read(session, actor=Actor(name="mallory", role="user", source="tui"))
    with runtime.session() as session:
        rows = session.execute(
            select(AuditRecord.action, AuditRecord.outcome).where(
                AuditRecord.actor_name == "mallory"
            )
        ).all()
    assert [tuple(row) for row in rows] == [("read:figures", "denied")]


# --- the indexes -------------------------------------------------------------------------

# The index each statement of the reads must use, by what the statement is.
INDEXES = {
    "FROM jobs": "ix_jobs_failed_error_code",
    "attempt > 1": "ix_processing_steps_retry_waiting",
    "processing_steps.agent = ": "ix_processing_steps_agent_finished_at_status_duration_ms",
}


def _statements(runtime: Runtime, run: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    engine = runtime.read_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def _plan(session: Session, statement: str, parameters: Any) -> str:
    if session.get_bind().dialect.name == "sqlite":
        rows = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(str(row[-1]) for row in rows)
    session.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: ask for an index
    rows = session.connection().exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return "\n".join(str(row[0]) for row in rows)


FULL_SCANS = ("SCAN jobs", "SCAN processing_steps", "Seq Scan on jobs", "Seq Scan on processing")


def test_every_statement_reads_an_index(runtime: Runtime, known: Known) -> None:
    """No statement of the reads scans jobs or steps whole, and each count or GROUP BY uses
    the index made for it (SQLite here has no statistics: a home that never ran ANALYZE)."""

    def read() -> None:
        with runtime.read_session() as session:
            failure_figures(session, now=known.now, error_code="PROBE_FAILED")
            retry_figures(session, now=known.now)
            agent_figures(session, now=known.now)

    statements = [
        (sql, params)
        for sql, params in _statements(runtime, read)
        if "FROM jobs" in sql or "FROM processing_steps" in sql
    ]
    checked = set()
    if runtime.engine.dialect.name == "postgresql":  # as autovacuum would, in time
        with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
            raw.exec_driver_sql("VACUUM ANALYZE jobs, processing_steps")
    with runtime.read_session() as session:
        for sql, params in statements:
            plan = _plan(session, sql, params)
            assert not any(scan in plan for scan in FULL_SCANS), (sql, plan)
            if "GROUP BY" in sql or "count(*)" in sql:
                wanted = next(index for marker, index in INDEXES.items() if marker in sql)
                assert wanted in plan, (sql, plan)
                checked.add(wanted)
    assert checked == set(INDEXES.values())
