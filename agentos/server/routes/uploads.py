"""Upload endpoints: resumable chunked uploads that end in a job."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from agentos.schemas.common import PageEnvelope, SuccessEnvelope
from agentos.schemas.uploads import (
    SHA256_PATTERN,
    ChunkReceipt,
    UploadFinalize,
    UploadFinalized,
    UploadInit,
    UploadRead,
    UploadStatusRead,
)
from agentos.server.deps import (
    CachedActorDep,
    CurrentActorDep,
    PagingDep,
    RuntimeDep,
    SessionDep,
    in_one_hop,
)
from agentos.server.ratelimit import UploadRateLimit
from agentos.server.responses import ok, paged
from agentos.server.routes._docs import BearerAuth, documented
from agentos.services import uploads

router = APIRouter(prefix="/api/upload", tags=["Upload"], dependencies=[BearerAuth])
# Chunks are counted in their own tier (see Settings.ratelimit_upload_per_min), not the
# user tier the rest of the upload API is in.
chunk_router = APIRouter(
    prefix="/api/upload", tags=["Upload"], dependencies=[BearerAuth, UploadRateLimit]
)
CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "example": "<chunk_size bytes of the file, the last chunk shorter>",
            }
        },
    }
}


@router.get(
    "",
    summary="List your uploads",
    description="Newest first; staff roles see every upload.",
    response_model=PageEnvelope[UploadRead],
    responses=documented(UploadRead, 422, paged=True),
)
async def list_uploads(request: Request, actor: CachedActorDep, page: PagingDep) -> dict[str, Any]:
    found = await in_one_hop(request, lambda session: uploads.find(session, actor=actor, page=page))
    return paged(request, found)


@router.post(
    "/init",
    status_code=201,
    summary="Open an upload session",
    description="The filename is sanitised (no directories). The file's size must fit in the "
    "free disk space (else 503 INSUFFICIENT_STORAGE). Readonly users get 403.",
    response_model=SuccessEnvelope[UploadRead],
    responses=documented(UploadRead, 400, 403, 422, 503, status=201),
)
def init_upload(
    request: Request, body: UploadInit, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, uploads.init(session, actor=actor, request=body))


@chunk_router.post(
    "/chunk",
    summary="Send one chunk (raw bytes; any order; a repeated chunk is accepted once)",
    description="The body is the chunk's raw bytes; every chunk but the last has exactly "
    "`chunk_size` bytes. `X-Chunk-SHA256` is checked when given (422 on mismatch). A chunk "
    "already received with other bytes answers 409; a closed upload 409 UPLOAD_NOT_OPEN.",
    response_model=SuccessEnvelope[ChunkReceipt],
    responses=documented(ChunkReceipt, 403, 404, 409, 413, 422),
    openapi_extra=CHUNK_BODY,
)
async def put_chunk(
    request: Request,
    runtime: RuntimeDep,
    actor: CachedActorDep,
    upload_id: Annotated[uuid.UUID, Query()],
    index: Annotated[int, Query(ge=0)],
    chunk_sha256: Annotated[
        str | None, Header(alias="X-Chunk-SHA256", pattern=SHA256_PATTERN)
    ] = None,
) -> dict[str, Any]:
    # No transaction is open while the chunk arrives and is written (the caller comes
    # from the cached authentication): the service records the chunk in a short unit of
    # work of its own, the only time it takes SQLite's one write lock.
    # The pieces as they arrived: joining them would copy the chunk once more.
    pieces = [piece async for piece in request.stream() if piece]
    receipt = await run_in_threadpool(
        uploads.put_chunk,
        runtime,
        actor=actor,
        upload_id=upload_id,
        index=index,
        data=pieces,
        chunk_sha256=chunk_sha256,
    )
    return ok(request, receipt)


@router.post(
    "/finalize",
    summary="Verify the whole file's SHA-256 and create the job",
    description="Missing chunks answer 409 UPLOAD_INCOMPLETE; a file whose SHA-256 differs "
    "from the one given at init is refused (422 CHECKSUM_MISMATCH). "
    "`create_job: false` keeps the file for POST /api/jobs/create.",
    response_model=SuccessEnvelope[UploadFinalized],
    responses=documented(UploadFinalized, 400, 403, 404, 409, 422),
)
def finalize_upload(
    request: Request, body: UploadFinalize, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    session.commit()  # as for a chunk: no database lock while the file is verified
    return ok(request, uploads.finalize(session, actor=actor, request=body))


@router.get(
    "/status/{upload_id}",
    summary="Which chunks are missing (to resume)",
    description="Another user's upload answers 404 UPLOAD_NOT_FOUND.",
    response_model=SuccessEnvelope[UploadStatusRead],
    responses=documented(UploadStatusRead, 404, 422),
)
def upload_status(
    request: Request, upload_id: uuid.UUID, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, uploads.status(session, actor=actor, upload_id=upload_id))
