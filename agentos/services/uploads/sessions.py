"""Resumable chunked uploads: init, chunk (any order, once each), status, finalize, list.

Chunks are written in place into a preallocated file, so a 2 GB upload never sits in
memory and needs no assembly step; finalize streams the file once to verify its SHA-256.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job, Upload, UploadChunk
from agentos.errors import ConflictError, InvalidError, NotFoundError
from agentos.schemas.common import Page, PageParams, Pagination
from agentos.schemas.jobs import JobCreate, JobOptions, JobRead
from agentos.schemas.uploads import (
    ChunkReceipt,
    UploadFinalize,
    UploadFinalized,
    UploadInit,
    UploadRead,
    UploadStatusRead,
)
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.outbox import after_commit
from agentos.services.runtime import settings_of
from agentos.services.security import roles
from agentos.services.uploads import storage


def init(session: Session, *, actor: Actor, request: UploadInit) -> UploadRead:
    settings = settings_of(session)
    roles.require_own_write(actor.role, "upload")
    filename = storage.sanitize_filename(request.filename)
    if request.total_size > settings.upload_max_bytes:
        raise InvalidError(
            f"file is larger than the {settings.upload_max_bytes}-byte limit",
            code="UPLOAD_TOO_LARGE",
        )
    low, high = settings.upload_chunk_min_bytes, settings.upload_chunk_max_bytes
    # The client's chunk size is a wish, kept within the server's limits (so any positive
    # value is accepted, as the schema says); a file smaller than one chunk is one chunk of
    # its own size. The answer's chunk_size is the size to send.
    chunk_size = min(max(request.chunk_size, low), high, request.total_size)
    storage.require_free_space(settings, request.total_size)
    upload = Upload(
        owner_id=actor.id,
        filename=filename,
        total_size=request.total_size,
        sha256=request.sha256.lower(),
        chunk_size=chunk_size,
        total_chunks=math.ceil(request.total_size / chunk_size),
        expires_at=utcnow() + timedelta(seconds=settings.upload_session_ttl_s),
    )
    session.add(upload)
    session.flush()
    storage.create_part(settings, upload.id, request.total_size)
    return UploadRead.model_validate(upload)


def put_chunk(
    session: Session,
    *,
    actor: Actor,
    upload_id: uuid.UUID,
    index: int,
    data: bytes,
    chunk_sha256: str | None = None,
) -> ChunkReceipt:
    upload = _require_open(session, actor=actor, upload_id=upload_id)
    expected = _expected_size(upload, index)
    if len(data) != expected:
        raise InvalidError(
            f"chunk {index} must be {expected} bytes, got {len(data)}", code="BAD_CHUNK_SIZE"
        )
    digest = hashlib.sha256(data).hexdigest()
    if chunk_sha256 is not None and digest != chunk_sha256.lower():
        raise InvalidError(f"chunk {index} checksum mismatch", code="CHUNK_CHECKSUM_MISMATCH")
    existing = _chunk(session, upload.id, index)
    if existing is not None and existing.sha256 != digest:
        raise ConflictError(
            f"chunk {index} was already received with different content", code="CHUNK_CONFLICT"
        )
    duplicate = existing is not None
    if existing is None:
        duplicate = not _record_chunk(session, upload, index=index, size=len(data), digest=digest)
        if not duplicate:
            storage.write_chunk(
                settings_of(session), upload.id, offset=index * upload.chunk_size, data=data
            )
    received = _received_count(session, upload.id)
    return ChunkReceipt(
        upload_id=upload.id,
        index=index,
        size=len(data),
        duplicate=duplicate,
        received_chunks=received,
        total_chunks=upload.total_chunks,
    )


def status(session: Session, *, actor: Actor, upload_id: uuid.UUID) -> UploadStatusRead:
    upload = _require_visible(session, actor=actor, upload_id=upload_id)
    received = set(
        session.scalars(select(UploadChunk.chunk_index).where(UploadChunk.upload_id == upload.id))
    )
    missing = [index for index in range(upload.total_chunks) if index not in received]
    return UploadStatusRead(
        upload=UploadRead.model_validate(upload),
        received_chunks=len(received),
        missing_chunks=missing,
        complete=not missing,
    )


def finalize(session: Session, *, actor: Actor, request: UploadFinalize) -> UploadFinalized:
    upload = _require_visible(session, actor=actor, upload_id=request.upload_id)
    if upload.status == "finalized":
        return UploadFinalized(
            upload=UploadRead.model_validate(upload), job_id=_job_of(session, upload.id)
        )
    _require_open(session, actor=actor, upload_id=upload.id)
    missing = upload.total_chunks - _received_count(session, upload.id)
    if missing:
        raise ConflictError(f"{missing} chunk(s) still missing", code="UPLOAD_INCOMPLETE")
    settings = settings_of(session)
    actual = storage.file_sha256(storage.assembled(settings, upload.id, upload.filename))
    if actual != upload.sha256:
        raise InvalidError(
            "file checksum does not match the declared sha256", code="CHECKSUM_MISMATCH"
        )
    upload.path = str(storage.promote(settings, upload.id, upload.filename))
    after_commit(session, lambda: storage.discard_part(settings, upload.id))
    upload.status = "finalized"
    upload.updated_at = utcnow()
    session.flush()
    job_id = None
    if request.create_job:
        job_id = create_job(
            session,
            actor=actor,
            upload_id=upload.id,
            title=request.title,
            priority=request.priority,
            options=request.options.model_dump(exclude_none=True),
        )
    return UploadFinalized(upload=UploadRead.model_validate(upload), job_id=job_id)


def create_job(
    session: Session,
    *,
    actor: Actor,
    upload_id: uuid.UUID,
    title: str | None = None,
    priority: int = 0,
    options: dict[str, Any] | None = None,
) -> uuid.UUID:
    """A job from a finalised upload, with the job's options (clip bounds, priority)."""
    upload = _require_visible(session, actor=actor, upload_id=upload_id)
    if upload.status != "finalized" or upload.path is None:
        raise ConflictError("the upload is not finalised yet", code="UPLOAD_NOT_FINALIZED")
    job = jobs.create(
        session,
        actor=actor,
        title=title or upload.filename,
        source_path=upload.path,
        source_sha256=upload.sha256,
        source_size=upload.total_size,
        upload_id=upload.id,
        options=JobOptions.model_validate(options or {}),
        priority=priority,
    )
    return job.id


def create_from_upload(session: Session, *, actor: Actor, request: JobCreate) -> JobRead:
    """`POST /api/jobs/create`: a job from the actor's finalised upload."""
    job_id = create_job(
        session,
        actor=actor,
        upload_id=request.upload_id,
        title=request.title,
        priority=request.priority,
        options=request.options.model_dump(exclude_none=True),
    )
    return jobs.require(session, job_id=job_id, actor=actor)


def find(session: Session, *, actor: Actor, page: PageParams) -> Page[UploadRead]:
    query = select(Upload)
    if not roles.sees_all_jobs(actor.role):
        query = query.where(Upload.owner_id == actor.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Upload.created_at.desc()).offset(page.offset).limit(page.per_page)
    )
    return Page[UploadRead](
        data=[UploadRead.model_validate(row) for row in rows],
        pagination=Pagination.of(page=page.page, per_page=page.per_page, total=total),
    )


def abort_stale(session: Session, *, older_than_s: float) -> list[uuid.UUID]:
    """Abort open sessions idle for longer than `older_than_s`; their files go after commit."""
    settings = settings_of(session)
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    stale = list(
        session.scalars(select(Upload).where(Upload.status == "open", Upload.updated_at < cutoff))
    )
    for upload in stale:
        upload.status = "aborted"
    session.flush()
    aborted = [upload.id for upload in stale]

    def remove_files() -> None:
        for upload_id in aborted:
            storage.remove_session_files(settings, upload_id)

    after_commit(session, remove_files)
    return aborted


def _require_visible(session: Session, *, actor: Actor, upload_id: uuid.UUID) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None or (not roles.sees_all_jobs(actor.role) and upload.owner_id != actor.id):
        raise NotFoundError(f"upload {upload_id} not found", code="UPLOAD_NOT_FOUND")
    return upload


def _require_open(session: Session, *, actor: Actor, upload_id: uuid.UUID) -> Upload:
    roles.require_own_write(actor.role, "upload")
    upload = _require_visible(session, actor=actor, upload_id=upload_id)
    if upload.status != "open":
        raise ConflictError(f"upload is {upload.status}", code="UPLOAD_NOT_OPEN")
    return upload


def _expected_size(upload: Upload, index: int) -> int:
    if not 0 <= index < upload.total_chunks:
        raise InvalidError(
            f"chunk index must be between 0 and {upload.total_chunks - 1}", code="BAD_CHUNK_INDEX"
        )
    if index == upload.total_chunks - 1:
        return upload.total_size - index * upload.chunk_size
    return upload.chunk_size


def _chunk(session: Session, upload_id: uuid.UUID, index: int) -> UploadChunk | None:
    return session.scalar(
        select(UploadChunk).where(
            UploadChunk.upload_id == upload_id, UploadChunk.chunk_index == index
        )
    )


def _record_chunk(session: Session, upload: Upload, *, index: int, size: int, digest: str) -> bool:
    """Insert the chunk row; False when a concurrent request recorded it first."""
    try:
        with session.begin_nested():
            session.add(
                UploadChunk(upload_id=upload.id, chunk_index=index, size=size, sha256=digest)
            )
    except IntegrityError:
        return False
    upload.received_bytes = upload.received_bytes + size
    upload.updated_at = utcnow()
    session.flush()
    return True


def _received_count(session: Session, upload_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(UploadChunk).where(UploadChunk.upload_id == upload_id)
        )
        or 0
    )


def _job_of(session: Session, upload_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(Job.id).where(Job.upload_id == upload_id).order_by(Job.created_at).limit(1)
    )
