"""Keeping the figures honest and taking them elsewhere: recompute the rollups from raw
rows (saying what was corrected), export a series, store a snapshot, reset the endpoint
counters (in every process: embedded counters live in each)."""

from __future__ import annotations

import csv
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from agentos.db.models import MetricsSnapshot
from agentos.schemas.actions_analytics import (
    AnalyticsExportPayload,
    CountersReset,
    RecomputeResult,
    RollupCorrection,
    SnapshotRead,
)
from agentos.schemas.actions_logs import ExportResult
from agentos.schemas.analytics import EndpointMetrics
from agentos.schemas.jobs import JobStatus
from agentos.services import events
from agentos.services.analytics.figures import HTTP_PREFIX, endpoint_metrics, metrics
from agentos.services.jobs import rollups
from agentos.services.runtime import Runtime, runtime_of
from agentos.settings import Settings

DEFAULT_WINDOW = timedelta(days=7)
BASES = {"jobs_created": "created", "jobs_finished": "finished", "clips_created": "clips"}
COUNTERS_RESET = "analytics.endpoints_reset"
STEP_STATUSES = ("queued", "running", "completed", "failed", "cancelled", "skipped")


def _figures(session: Session, since: datetime) -> dict[str, int]:
    found = {f"status:{status}": count for status, count in rollups.status_counts(session).items()}
    for basis in BASES.values():
        for hour, counts in rollups.hourly(session, basis=basis, since=since).items():
            for status, count in counts.items():
                found[f"{basis}:{hour.isoformat()}:{status}"] = count
    for agent, counts in rollups.step_counts(session, statuses=STEP_STATUSES).items():
        for status, count in counts.items():
            found[f"step:{agent}:{status}"] = count
    return found


def recompute(session: Session, *, since: datetime | None) -> RecomputeResult:
    """Rebuild every rollup from jobs, steps and clips; list the figures that changed."""
    started = time.perf_counter()
    window = since or datetime.now(UTC) - DEFAULT_WINDOW
    before = _figures(session, window)
    rows = rollups.rebuild(session)
    session.flush()
    after = _figures(session, window)
    corrections = [
        RollupCorrection(figure=name, before=before.get(name, 0), after=after.get(name, 0))
        for name in sorted(set(before) | set(after))
        if before.get(name, 0) != after.get(name, 0)
    ]
    events.announce(session, "analytics.recomputed", corrections=len(corrections))
    return RecomputeResult(
        job_rollup_rows=rows,
        corrections=corrections,
        seconds=round(time.perf_counter() - started, 3),
    )


def _series(session: Session, payload: AnalyticsExportPayload) -> list[dict[str, Any]]:
    since = payload.since or datetime.now(UTC) - DEFAULT_WINDOW
    if payload.metric in BASES:
        counts = rollups.hourly(session, basis=BASES[payload.metric], since=since)
        return [
            {"hour": hour.isoformat(), "status": status, "count": count}
            for hour, by_status in sorted(counts.items())
            for status, count in sorted(by_status.items())
        ]
    if payload.metric == "steps":
        return [
            {"agent": agent, "status": status, "count": count}
            for agent, by_status in sorted(
                rollups.step_counts(session, statuses=STEP_STATUSES).items()
            )
            for status, count in sorted(by_status.items())
        ]
    return [item.model_dump(mode="json") for item in endpoint_metrics(session)]


def _columns(metric: str) -> list[str]:
    """The CSV header of a metric's series (written even when the series is empty)."""
    if metric == "steps":
        return ["agent", "status", "count"]
    if metric == "endpoints":
        return list(EndpointMetrics.model_fields)
    return ["hour", "status", "count"]


def export(
    session: Session, *, settings: Settings, payload: AnalyticsExportPayload
) -> ExportResult:
    rows = _series(session, payload)
    directory = settings.home_dir / "exports"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = directory / f"{payload.metric}-{stamp}-{uuid.uuid4().hex[:6]}.{payload.format}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        if payload.format == "csv":
            fieldnames = list(rows[0]) if rows else _columns(payload.metric)
            writer = csv.DictWriter(handle, fieldnames=fieldnames)
            writer.writeheader()
            writer.writerows(rows)
        else:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    return ExportResult(
        path=str(path), count=len(rows), format=payload.format, bytes=path.stat().st_size
    )


def snapshot(session: Session, *, label: str | None) -> SnapshotRead:
    """The figures of now, kept as one `metrics_snapshots` row."""
    figures = metrics(session)
    data = figures.model_dump(mode="json")
    data["unfinished"] = {
        status: figures.jobs.by_status.get(status, 0) for status in JobStatus.UNFINISHED
    }
    row = MetricsSnapshot(label=label, data=data)
    session.add(row)
    session.flush()
    return SnapshotRead(
        id=row.id,
        label=label,
        taken_at=row.taken_at,
        jobs_total=figures.jobs.total,
        endpoints=len(figures.endpoints),
        bytes=len(json.dumps(data)),
    )


def reset_endpoint_counters(session: Session) -> CountersReset:
    runtime = runtime_of(session)
    cleared = runtime.backends.counters.reset(f"{HTTP_PREFIX}|*")
    events.announce(session, COUNTERS_RESET)
    return CountersReset(cleared=cleared)


def handle_change(runtime: Runtime, change: dict[str, object]) -> None:
    """Embedded counters live in each process: a reset anywhere resets them here too."""
    if change.get("kind") == COUNTERS_RESET and runtime.settings.is_embedded:
        runtime.backends.counters.reset(f"{HTTP_PREFIX}|*")
