"""The Analytics actions on both deployments: recompute repairs corrupted rollups and says
what it corrected, export writes a metric series, snapshot stores a metrics_snapshots row,
endpoint_metrics.reset zeroes the request counters (in every process)."""

from __future__ import annotations

import csv
import json
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from agentos.db.models import Job, MetricsSnapshot
from agentos.errors import ForbiddenError
from agentos.server.metrics import MetricsRecorder
from agentos.services import events
from agentos.services.analytics import endpoint_metrics, upkeep
from agentos.services.jobs import rollups
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.helpers import actor, audit_rows, run
from tests.support.jobs import make_actor, make_job

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _jobs(runtime: Runtime) -> dict[str, int]:
    """Two completed, one failed, two queued and one cancelled job; the rollups compacted."""
    with runtime.session() as session:
        ensure_default_agents(session)
        owner = make_actor(session)
        for status in ("completed", "completed", "failed", "queued", "queued", "cancelled"):
            make_job(session, owner, status)
    with runtime.session() as session:
        rollups.compact(session)
    return _truth(runtime)


def _truth(runtime: Runtime) -> dict[str, int]:
    with runtime.session() as session:
        rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
        return {status: int(count) for status, count in rows}


def _created_hours(runtime: Runtime) -> set[datetime]:
    """The hours the jobs were created in (a test may run across an hour's end)."""
    with runtime.session() as session:
        created = session.scalars(select(Job.created_at)).all()
    return {
        (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).replace(
            minute=0, second=0, microsecond=0
        )
        for moment in created
    }


def _sql(runtime: Runtime, statement: str, **params: Any) -> None:
    with runtime.session() as session:
        session.execute(text(statement), params)


def test_recompute_repairs_corrupted_rollups_and_reports_what_it_changed(
    runtime: Runtime,
) -> None:
    truth = _jobs(runtime)
    assert truth == {"completed": 2, "failed": 1, "queued": 2, "cancelled": 1}
    with runtime.session() as session:
        assert rollups.status_counts(session) == truth
        steps_before = rollups.step_counts(session, statuses=upkeep.STEP_STATUSES)
    # Corrupt them three ways: a count off, a phantom status, a step count lost.
    _sql(runtime, "UPDATE job_status_rollup SET count = count + 5 "
                  "WHERE basis = 'created' AND status = 'queued'")  # fmt: skip
    with runtime.session() as session:
        session.execute(
            text(
                "INSERT INTO job_status_rollup (basis, hour, status, count) "
                "VALUES ('finished', :hour, 'completed', 7)"
            ),
            {"hour": HOUR - timedelta(hours=3)},
        )
    _sql(runtime, "DELETE FROM step_status_rollup WHERE agent = 'ingest'")
    with runtime.session() as session:
        assert rollups.status_counts(session)["queued"] == 7

    result = run(runtime, "analytics.recompute", {"reason": "after a bulk load"}).result
    corrections = {
        item["figure"]: (item["before"], item["after"]) for item in result["corrections"]
    }
    assert corrections["status:queued"] == (7, 2)
    queued_hour = next(name for name in corrections if name.startswith("created:"))
    assert queued_hour.endswith(":queued")
    assert corrections[queued_hour] == (7, 2)
    phantom = f"finished:{(HOUR - timedelta(hours=3)).isoformat()}:completed"
    assert corrections[phantom] == (7, 0)
    lost = {f"step:ingest:{status}": (0, count) for status, count in steps_before["ingest"].items()}
    assert lost == {
        "step:ingest:completed": (0, 2),
        "step:ingest:failed": (0, 1),
        "step:ingest:queued": (0, 2),
        "step:ingest:cancelled": (0, 1),
    }
    assert {name: corrections[name] for name in lost} == lost
    assert len(corrections) == 3 + len(lost)
    assert result["job_rollup_rows"] >= 4
    with runtime.session() as session:
        assert rollups.status_counts(session) == truth
        assert rollups.step_counts(session, statuses=upkeep.STEP_STATUSES) == steps_before
    again = run(runtime, "analytics.recompute").result
    assert again["corrections"] == []
    assert [row.outcome for row in audit_rows(runtime, "analytics.recompute")] == [
        "success",
        "success",
    ]


def test_recompute_reports_hourly_corrections_since_the_given_time_only(
    runtime: Runtime,
) -> None:
    _jobs(runtime)
    _sql(runtime, "UPDATE job_status_rollup SET count = count + 1 WHERE status = 'failed'")
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    result = run(runtime, "analytics.recompute", {"since": later}).result
    assert [item["figure"] for item in result["corrections"]] == ["status:failed"]
    with runtime.session() as session:
        assert rollups.status_counts(session)["failed"] == 1  # repaired all the same


def test_recompute_is_announced(runtime: Runtime) -> None:
    _jobs(runtime)
    subscription = runtime.backends.bus.subscribe(events.CHANGES_CHANNEL)
    try:
        run(runtime, "analytics.recompute")
        deadline, kinds = time.monotonic() + 10, []
        while "analytics.recomputed" not in kinds and time.monotonic() < deadline:
            message = subscription.get(timeout_s=0.2)
            if message is not None:
                kinds.append(message.payload.get("kind"))
    finally:
        subscription.close()
    assert "analytics.recomputed" in kinds


def _exported(runtime: Runtime, **payload: Any) -> tuple[dict[str, Any], Path]:
    result = run(runtime, "analytics.export", payload).result
    path = Path(result["path"])
    assert path.parent == runtime.settings.home_dir / "exports"
    assert path.name.startswith(f"{payload['metric']}-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result["bytes"] == path.stat().st_size
    assert result["format"] == payload.get("format", "csv")
    return result, path


def test_export_a_metric_series_as_csv_and_jsonl(runtime: Runtime) -> None:
    truth = _jobs(runtime)
    result, path = _exported(runtime, metric="jobs_created", format="csv")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert result["count"] == len(rows) == len(truth)
    assert {row["status"]: int(row["count"]) for row in rows} == truth
    assert {datetime.fromisoformat(row["hour"]) for row in rows} == _created_hours(runtime)

    result, path = _exported(runtime, metric="jobs_finished", format="jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert result["count"] == len(lines)
    assert {line["status"]: line["count"] for line in lines} == {
        "completed": 2,
        "failed": 1,
        "cancelled": 1,
    }

    result, path = _exported(runtime, metric="steps", format="jsonl")
    steps = [json.loads(line) for line in path.read_text().splitlines()]
    by_agent = {(step["agent"], step["status"]): step["count"] for step in steps}
    assert by_agent[("ingest", "completed")] == 2
    assert by_agent[("ingest", "failed")] == 1
    assert by_agent[("publish", "completed")] == 2
    assert result["count"] == len(steps)

    # A window that starts after every job: an empty series, still a file with a header.
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    result, path = _exported(runtime, metric="clips_created", format="csv", since=future)
    assert result["count"] == 0
    assert path.read_text().strip() == "hour,status,count"


def _record_requests(runtime: Runtime) -> int:
    recorder = MetricsRecorder(runtime.backends.counters)
    for status, elapsed in ((200, 3.0), (200, 40.0), (404, 2.0), (500, 700.0)):
        recorder.record("GET", "/api/jobs/{job_id}", status, elapsed)
    recorder.record("POST", "/api/admin/action", 200, 12.0)
    recorder.flush()
    return 2  # routes


def test_export_endpoint_figures(runtime: Runtime) -> None:
    _record_requests(runtime)
    result, path = _exported(runtime, metric="endpoints", format="jsonl")
    lines = {
        (line["method"], line["route"]): line
        for line in map(json.loads, path.read_text().splitlines())
    }
    assert result["count"] == 2
    jobs = lines[("GET", "/api/jobs/{job_id}")]
    assert jobs["requests"] == 4
    assert (jobs["rate_4xx"], jobs["rate_5xx"]) == (0.25, 0.25)
    assert lines[("POST", "/api/admin/action")]["requests"] == 1


def test_snapshot_stores_the_figures_of_now(runtime: Runtime) -> None:
    truth = _jobs(runtime)
    _record_requests(runtime)
    taken = run(runtime, "analytics.snapshot", {"label": "before the migration"}).result
    assert taken["label"] == "before the migration"
    assert taken["jobs_total"] == sum(truth.values()) == 6
    assert taken["endpoints"] == 2
    with runtime.session() as session:
        rows = list(session.scalars(select(MetricsSnapshot)))
    assert [str(row.id) for row in rows] == [taken["id"]]
    (row,) = rows
    assert row.label == "before the migration"
    assert abs((row.taken_at - datetime.fromisoformat(taken["taken_at"])).total_seconds()) < 1
    assert row.data["jobs"]["by_status"] == {
        "pending": 0, "processing": 0, **truth,
    }  # fmt: skip
    assert row.data["unfinished"] == {"pending": 0, "queued": 2, "processing": 0}
    assert {item["route"] for item in row.data["endpoints"]} == {
        "/api/jobs/{job_id}",
        "/api/admin/action",
    }
    assert taken["bytes"] == len(json.dumps(row.data))
    unlabelled = run(runtime, "analytics.snapshot").result
    assert unlabelled["label"] is None
    with runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(MetricsSnapshot)) == 2


def test_endpoint_counters_reset_everywhere(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """The second runtime is another process on the same deployment: with Redis it shares
    the counters; embedded, its own in-memory counters are reset when the reset is announced."""
    other = make_runtime(settings.model_copy(deep=True))
    _record_requests(runtime)
    _record_requests(other)
    subscription = other.backends.bus.subscribe(events.CHANGES_CHANNEL)
    try:
        with runtime.session() as session:
            assert {item.route for item in endpoint_metrics(session)} == {
                "/api/jobs/{job_id}",
                "/api/admin/action",
            }
        result = run(runtime, "analytics.endpoint_metrics.reset").result
        assert result["cleared"] > 0
        with runtime.session() as session:
            assert endpoint_metrics(session) == []
        assert runtime.backends.counters.get_many("metrics:http|*") == {}
        deadline = time.monotonic() + 10
        while other.backends.counters.get_many("metrics:http|*") and time.monotonic() < deadline:
            message = subscription.get(timeout_s=0.2)
            if message is not None:
                upkeep.handle_change(other, message.payload)
    finally:
        subscription.close()
    assert other.backends.counters.get_many("metrics:http|*") == {}
    with other.session() as session:
        assert endpoint_metrics(session) == []
    assert run(runtime, "analytics.endpoint_metrics.reset").result["cleared"] == 0


def test_readers_may_export_but_not_change_analytics(runtime: Runtime) -> None:
    _jobs(runtime)
    viewer = actor("readonly")
    assert run(runtime, "analytics.export", {"metric": "jobs_created"}, who=viewer).result["count"]
    for name in ("analytics.recompute", "analytics.snapshot", "analytics.endpoint_metrics.reset"):
        with pytest.raises(ForbiddenError):
            run(runtime, name, {}, who=viewer)


@pytest.mark.parametrize(
    ("metric", "header"),
    [
        ("jobs_created", "hour,status,count"),
        ("steps", "agent,status,count"),
        (
            "endpoints",
            "method,route,requests,throughput_rps,p50_ms,p95_ms,p99_ms,rate_4xx,rate_5xx",
        ),
    ],
)
def test_an_empty_series_is_a_csv_with_its_own_header(
    embedded_runtime: Runtime, metric: str, header: str
) -> None:
    result, path = _exported(embedded_runtime, metric=metric, format="csv")
    assert result["count"] == 0
    assert path.read_text().splitlines() == [header]
