"""Upload endpoints: resumable chunked uploads that end in a job."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from agentos.schemas.common import PageEnvelope, PageParams, SuccessEnvelope
from agentos.schemas.uploads import (
    SHA256_PATTERN,
    ChunkReceipt,
    UploadFinalize,
    UploadFinalized,
    UploadInit,
    UploadRead,
    UploadStatusRead,
)
from agentos.server.deps import CurrentActorDep, SessionDep
from agentos.server.errors import ERROR_RESPONSES
from agentos.server.responses import ok, paged
from agentos.services import uploads

router = APIRouter(prefix="/api/upload", tags=["Upload"], responses=ERROR_RESPONSES)
CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("", summary="List your uploads", response_model=PageEnvelope[UploadRead])
def list_uploads(
    request: Request,
    session: SessionDep,
    actor: CurrentActorDep,
    page: Annotated[PageParams, Depends()],
) -> dict[str, Any]:
    return paged(request, uploads.find(session, actor=actor, page=page))


@router.post(
    "/init",
    status_code=201,
    summary="Open an upload session",
    response_model=SuccessEnvelope[UploadRead],
)
def init_upload(
    request: Request, body: UploadInit, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, uploads.init(session, actor=actor, request=body))


@router.post(
    "/chunk",
    summary="Send one chunk (raw bytes; any order; a repeated chunk is accepted once)",
    response_model=SuccessEnvelope[ChunkReceipt],
    openapi_extra=CHUNK_BODY,
)
async def put_chunk(
    request: Request,
    session: SessionDep,
    actor: CurrentActorDep,
    upload_id: Annotated[uuid.UUID, Query()],
    index: Annotated[int, Query(ge=0)],
    chunk_sha256: Annotated[
        str | None, Header(alias="X-Chunk-SHA256", pattern=SHA256_PATTERN)
    ] = None,
) -> dict[str, Any]:
    data = await request.body()
    receipt = await run_in_threadpool(
        uploads.put_chunk,
        session,
        actor=actor,
        upload_id=upload_id,
        index=index,
        data=data,
        chunk_sha256=chunk_sha256,
    )
    return ok(request, receipt)


@router.post(
    "/finalize",
    summary="Verify the whole file's SHA-256 and create the job",
    response_model=SuccessEnvelope[UploadFinalized],
)
def finalize_upload(
    request: Request, body: UploadFinalize, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, uploads.finalize(session, actor=actor, request=body))


@router.get(
    "/status/{upload_id}",
    summary="Which chunks are missing (to resume)",
    response_model=SuccessEnvelope[UploadStatusRead],
)
def upload_status(
    request: Request, upload_id: uuid.UUID, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, uploads.status(session, actor=actor, upload_id=upload_id))
