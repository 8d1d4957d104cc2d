"""Queue endpoints (seed: Queue, 3): depth, the waiting work, throughput figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agentos.schemas.common import PageEnvelope, SuccessEnvelope
from agentos.schemas.queue import QueuedWork, QueueStats, QueueStatus
from agentos.server.deps import (
    CachedActorDep,
    CurrentActorDep,
    PagingDep,
    SessionDep,
    in_one_hop,
)
from agentos.server.responses import ok, paged
from agentos.server.routes._docs import BearerAuth, documented
from agentos.services import queue

router = APIRouter(prefix="/api/queue", tags=["Queue"], dependencies=[BearerAuth])


@router.get(
    "/status",
    summary="Paused flag, depth and oldest wait per agent",
    description="The whole queue, every user's work counted (the figures name no job).",
    response_model=SuccessEnvelope[QueueStatus],
    responses=documented(QueueStatus),
)
def queue_status(request: Request, session: SessionDep, _: CurrentActorDep) -> dict[str, Any]:
    return ok(request, queue.status(session))


@router.get(
    "/details",
    summary="Open work: running, then queued in dispatch order",
    description="Users see the work of their own jobs only; staff roles see all of it.",
    response_model=PageEnvelope[QueuedWork],
    responses=documented(QueuedWork, 422, paged=True),
)
async def queue_details(request: Request, actor: CachedActorDep, page: PagingDep) -> dict[str, Any]:
    found = await in_one_hop(
        request, lambda session: queue.details(session, actor=actor, page=page)
    )
    return paged(request, found)


@router.get(
    "/stats",
    summary="Throughput, mean wait and processing time, last 24 h",
    description="Counted over the stages and jobs that finished in the last 24 hours.",
    response_model=SuccessEnvelope[QueueStats],
    responses=documented(QueueStats),
)
def queue_stats(request: Request, session: SessionDep, _: CurrentActorDep) -> dict[str, Any]:
    return ok(request, queue.stats(session))
