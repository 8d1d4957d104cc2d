"""Analytics (seed: Misc): the monitoring section's job and endpoint figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from agentos.schemas.analytics import AnalyticsMetrics
from agentos.schemas.common import SuccessEnvelope
from agentos.server.deps import CurrentActorDep, SessionDep
from agentos.server.responses import ok
from agentos.server.routes._docs import BearerAuth, documented
from agentos.services import analytics

router = APIRouter(prefix="/api/analytics", tags=["Analytics"], dependencies=[BearerAuth])


@router.get(
    "/metrics",
    summary="Jobs per status, hourly throughput, error rate, "
    "processing time; per route p50/p95/p99, throughput, 4xx/5xx rates",
    description="Job figures come from the database; endpoint figures from the per-route "
    "request counters every server process records.",
    response_model=SuccessEnvelope[AnalyticsMetrics],
    responses=documented(AnalyticsMetrics),
)
async def analytics_metrics(
    request: Request, session: SessionDep, _: CurrentActorDep
) -> dict[str, Any]:
    recorder = getattr(request.app.state, "metrics", None)
    if recorder is not None:  # this process's latest requests count too
        await run_in_threadpool(recorder.flush)
    return ok(request, await run_in_threadpool(analytics.metrics, session))
