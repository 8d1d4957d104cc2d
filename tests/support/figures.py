"""Known rows for the exact figures (`GET /api/admin/ssot/figures`): 1500 failed jobs over
three codes (more than the 1000 the TUI used to sample), waiting retries, and per-agent
steps whose counts and percentiles are worked out by hand below.

Times are placed well inside their windows (never on an edge), so a read a few seconds
after `now` counts the same, except the per-hour positions when the hour turns meanwhile.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from agentos.db.models import Job, ProcessingStep
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime

# code: (jobs, stage of the first `split`, stage of the rest, split)
FAILED_CODES: dict[str | None, tuple[int, str, str, int]] = {
    "FFMPEG_TIMEOUT": (700, "clipper", "thumbs", 600),
    "PROBE_FAILED": (500, "probe", "probe", 500),
    None: (300, "scenes", "ingest", 100),
}
SPACING_MIN = {"FFMPEG_TIMEOUT": 3.0, "PROBE_FAILED": 2.5, None: 10.0}
MARGIN_MIN = 1.25  # every job at least 1.25 minutes from a window edge


@dataclass(frozen=True)
class Known:
    now: datetime
    retry_jobs: dict[str, uuid.UUID]  # "soon", "due", "after_cancel" (waiting) and others
    step_job: uuid.UUID


def _minutes_ago(code: str | None, index: int) -> float:
    return index * SPACING_MIN[code] + MARGIN_MIN


def expected_window_counts(code: str | None, hours: float) -> int:
    jobs = FAILED_CODES[code][0]
    return sum(1 for i in range(jobs) if _minutes_ago(code, i) < hours * 60)


def _job(now: datetime, **fields: Any) -> dict[str, Any]:
    values = {
        "id": uuid.uuid4(),
        "title": "figures.mp4",
        "status": "failed",
        "attempts": 1,
        "max_attempts": 3,
        "created_at": now - timedelta(days=3),
        "updated_at": now,
    }
    values.update(fields)
    return values


def _failed_jobs(now: datetime) -> list[dict[str, Any]]:
    rows = []
    for code, (count, first, rest, split) in FAILED_CODES.items():
        for index in range(count):
            finished = now - timedelta(minutes=_minutes_ago(code, index))
            rows.append(
                _job(
                    now,
                    title=f"{code or 'nocode'}-{index:04d}.mp4",
                    error_code=code,
                    error=f"{code or 'odd'} happened to job {index}",
                    current_stage=first if index < split else rest,
                    finished_at=finished,
                    updated_at=finished,
                )
            )
    # Codes on jobs that did not fail: not counted.
    rows += [_job(now, status="cancelled", error_code="FFMPEG_TIMEOUT") for _ in range(5)]
    rows += [_job(now, status="completed", finished_at=now) for _ in range(3)]
    return rows


def _step(job: uuid.UUID, agent: str, attempt: int, status: str, **fields: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "job_id": job, "agent": agent, "attempt": attempt,
            "status": status, **fields}  # fmt: skip


def _retries(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    ids = {name: uuid.uuid4() for name in ("soon", "due", "after_cancel", "next_stage", "first")}
    attempts = {"soon": 2, "due": 2, "after_cancel": 3, "next_stage": 2, "first": 1}
    jobs = [
        _job(now, id=job_id, title=f"retry-{name}.mp4", status="queued", attempts=attempts[name])
        for name, job_id in ids.items()
    ]
    ago = now - timedelta(days=2)  # before the per-agent window: those figures stay exact
    steps = [
        _step(ids["soon"], "probe", 1, "failed", error="probe crashed", error_code="PROBE_CRASH",
              finished_at=ago),
        _step(ids["soon"], "probe", 2, "queued", created_at=now + timedelta(minutes=10)),
        _step(ids["due"], "scenes", 1, "failed", error="out of memory", error_code="SCENES_OOM",
              finished_at=ago),
        _step(ids["due"], "scenes", 2, "queued", created_at=now - timedelta(minutes=5)),
        _step(ids["after_cancel"], "clipper", 1, "failed", error="x", error_code="X",
              finished_at=ago),
        _step(ids["after_cancel"], "clipper", 2, "cancelled", finished_at=ago),
        _step(ids["after_cancel"], "clipper", 3, "queued", created_at=now + timedelta(hours=1)),
        # A later stage of a retried job is its first try at that stage: not a retry.
        _step(ids["next_stage"], "probe", 1, "failed", error="y", finished_at=ago),
        _step(ids["next_stage"], "probe", 2, "completed", finished_at=ago),
        _step(ids["next_stage"], "scenes", 2, "queued", created_at=now - timedelta(minutes=1)),
        _step(ids["first"], "ingest", 1, "queued", created_at=now - timedelta(minutes=1)),
    ]  # fmt: skip
    return jobs, steps, ids


def _agent_steps(job: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """probe: 3 completed (100/200/300 ms) + 1 failed an hour ago, 2 completed (1000/3000 ms)
    five hours ago, 3 completed 30 h ago (outside), 1 cancelled; scenes: 1200 completed
    (1..1200 ms) two hours ago, 300 failed three hours ago, 3000 completed 30 h ago."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    at = {k: hour - timedelta(hours=k) + timedelta(minutes=30) for k in (1, 2, 3, 5, 30)}
    plan: list[tuple[str, str, float | None, datetime]] = [
        *(("probe", "completed", ms, at[1]) for ms in (100.0, 200.0, 300.0)),
        ("probe", "failed", 50.0, at[1]),
        ("probe", "cancelled", 10.0, at[1]),
        *(("probe", "completed", ms, at[5]) for ms in (1000.0, 3000.0)),
        *(("probe", "completed", 99999.0, at[30]) for _ in range(3)),
        *(("scenes", "completed", float(ms), at[2]) for ms in range(1, 1201)),
        *(("scenes", "failed", 5.0, at[3]) for _ in range(300)),
        # Most steps are older than the window, as in a deployment that has run for days.
        *(("scenes", "completed", 7.0, at[30]) for _ in range(3000)),
    ]
    return [
        _step(job, agent, attempt, status, duration_ms=ms, finished_at=finished,
              started_at=finished, created_at=finished)
        for attempt, (agent, status, ms, finished) in enumerate(plan, start=1)
    ]  # fmt: skip


def seed_figures(runtime: Runtime, now: datetime) -> Known:
    """Commit the rows above (one bulk INSERT per table)."""
    retry_jobs, retry_steps, ids = _retries(now)
    step_job = _job(now, status="completed", finished_at=now)
    with runtime.session() as session:
        ensure_default_agents(session)
        session.execute(insert(Job), [*_failed_jobs(now), *retry_jobs, step_job])
        session.execute(insert(ProcessingStep), [*retry_steps, *_agent_steps(step_job["id"], now)])
    return Known(now=now, retry_jobs=ids, step_job=step_job["id"])
