"""Clip endpoints (seed: Clips, 2)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from agentos.schemas.clips import ClipRead
from agentos.schemas.common import SuccessEnvelope
from agentos.server.deps import CachedActorDep, CurrentActorDep, SessionDep, in_one_hop
from agentos.server.responses import ok
from agentos.server.routes._docs import BearerAuth, documented
from agentos.services import clips

router = APIRouter(prefix="/api/clips", tags=["Clips"], dependencies=[BearerAuth])


@router.get(
    "/recent",
    summary="The most recent clips of the jobs you may see",
    description="Newest first; users see the clips of their own jobs only.",
    response_model=SuccessEnvelope[list[ClipRead]],
    responses=documented(ClipRead, 422, many=True),
)
async def recent_clips(
    request: Request,
    actor: CachedActorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    found = await in_one_hop(
        request, lambda session: clips.recent(session, actor=actor, limit=limit)
    )
    return ok(request, found)


@router.get(
    "/{clip_id}",
    summary="One clip",
    description="A clip of another user's job answers 404 CLIP_NOT_FOUND.",
    response_model=SuccessEnvelope[ClipRead],
    responses=documented(ClipRead, 404, 422),
)
def get_clip(
    request: Request, clip_id: uuid.UUID, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, clips.require(session, clip_id=clip_id, actor=actor))
