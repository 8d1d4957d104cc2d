"""Analytics view: analytics.recompute, analytics.export, analytics.snapshot,
analytics.endpoint_metrics.reset."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import NoPayload
from agentos.schemas.actions_analytics import (
    AnalyticsExportPayload,
    CountersReset,
    RecomputePayload,
    RecomputeResult,
    SnapshotPayload,
    SnapshotRead,
)
from agentos.schemas.actions_logs import ExportResult
from agentos.services.actions.registry import ActionContext, action
from agentos.services.analytics import upkeep

VIEW = "Analytics"


@action(
    "analytics.recompute",
    view=VIEW,
    summary="Rebuild the aggregated figures (rollups) from the raw rows; lists what changed",
    payload=RecomputePayload,
    result=RecomputeResult,
    permission="analytics:write",
    rate_class="high_risk",
)
def analytics_recompute(
    session: Session, payload: RecomputePayload, ctx: ActionContext
) -> RecomputeResult:
    return upkeep.recompute(session, since=payload.since)


@action(
    "analytics.export",
    view=VIEW,
    summary="Write a metric series (jobs created/finished or clips per hour, steps, "
    "endpoints) as CSV or JSONL to the home's exports/",
    payload=AnalyticsExportPayload,
    result=ExportResult,
    permission="analytics:read",
)
def analytics_export(
    session: Session, payload: AnalyticsExportPayload, ctx: ActionContext
) -> ExportResult:
    return upkeep.export(session, settings=ctx.settings, payload=payload)


@action(
    "analytics.snapshot",
    view=VIEW,
    summary="Store the figures of now as a point-in-time snapshot (metrics_snapshots)",
    payload=SnapshotPayload,
    result=SnapshotRead,
    permission="analytics:write",
)
def analytics_snapshot(
    session: Session, payload: SnapshotPayload, ctx: ActionContext
) -> SnapshotRead:
    return upkeep.snapshot(session, label=payload.label)


@action(
    "analytics.endpoint_metrics.reset",
    view=VIEW,
    summary="Reset the per-endpoint request counters (latency, throughput, error rates)",
    payload=NoPayload,
    result=CountersReset,
    permission="analytics:write",
    rate_class="high_risk",
    dependencies=("cache",),
)
def endpoint_metrics_reset(
    session: Session, payload: NoPayload, ctx: ActionContext
) -> CountersReset:
    return upkeep.reset_endpoint_counters(session)
