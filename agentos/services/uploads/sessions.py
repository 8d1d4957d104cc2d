"""Resumable chunked uploads: init, status, finalize, list (a chunk: `chunks`).

Chunks are written in place into a preallocated file, so a 2 GB upload never sits in
memory and needs no assembly step. The whole file's SHA-256 is taken in while the chunks
arrive (`hashing`); finalize reads only what that running digest has not covered (nothing
when the chunks came in order to this process, the whole file after a restart).
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentos.db import keyset
from agentos.db.base import utcnow
from agentos.db.keyset import Keyset, SortKey
from agentos.db.models import Job, Upload, UploadChunk
from agentos.errors import ConflictError, InvalidError, NotFoundError
from agentos.schemas.common import Page, PageParams
from agentos.schemas.jobs import JobCreate, JobOptions, JobRead
from agentos.schemas.uploads import (
    UploadFinalize,
    UploadFinalized,
    UploadInit,
    UploadRead,
    UploadStatusRead,
)
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.jobs import counts as job_counts
from agentos.services.outbox import after_commit
from agentos.services.runtime import Runtime, runtime_of
from agentos.services.security import roles
from agentos.services.uploads import hashing, storage


def init(session: Session, *, actor: Actor, request: UploadInit) -> UploadRead:
    runtime = runtime_of(session)
    settings = runtime.settings
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
    upload_id, size = upload.id, request.total_size
    # The running SHA-256 lives in the process that opened the upload (see `hashing`).
    after_commit(
        session,
        lambda: hashing.of(runtime).start(upload_id, chunk_size=chunk_size, total_size=size),
    )
    return UploadRead.model_validate(upload)


def status(session: Session, *, actor: Actor, upload_id: uuid.UUID) -> UploadStatusRead:
    upload = require_visible(session, actor=actor, upload_id=upload_id)
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
    """Check that every chunk arrived and that the file has the SHA-256 given at init, then
    close the session (and create its job when asked); again once closed: the same answer.

    The file is checked in a read-only session before `session` is first used, so no
    database lock is held while a large file is hashed; `session`, the caller's unit of
    work, must hold none either (see `chunks.put_chunk`).
    """
    runtime = runtime_of(session)
    with runtime.read_session() as reading:
        expected = _verifiable(reading, actor=actor, upload_id=request.upload_id)
    if expected is not None:
        _verify(runtime, request.upload_id, *expected)
    upload = require_visible(session, actor=actor, upload_id=request.upload_id)
    if upload.status == "finalized":
        return UploadFinalized(
            upload=UploadRead.model_validate(upload), job_id=_job_of(session, upload.id)
        )
    require_open(session, actor=actor, upload_id=upload.id)  # not aborted meanwhile
    settings = runtime.settings
    upload.path = str(storage.promote(settings, upload.id, upload.filename))
    upload_id = upload.id

    def clean_up() -> None:
        storage.discard_part(settings, upload_id)
        hashing.of(runtime).forget(upload_id)

    after_commit(session, clean_up)
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


def _verifiable(session: Session, *, actor: Actor, upload_id: uuid.UUID) -> tuple[str, str] | None:
    """The declared SHA-256 and the file name of a complete open upload; None once it is
    finalized."""
    upload = require_visible(session, actor=actor, upload_id=upload_id)
    if upload.status == "finalized":
        return None
    require_open(session, actor=actor, upload_id=upload_id)
    missing = upload.total_chunks - _received_count(session, upload.id)
    if missing:
        raise ConflictError(f"{missing} chunk(s) still missing", code="UPLOAD_INCOMPLETE")
    return upload.sha256, upload.filename


def _verify(runtime: Runtime, upload_id: uuid.UUID, sha256: str, filename: str) -> None:
    """The whole file's SHA-256: the running digest's bytes are not read again, the rest
    (all of the file when this process holds no digest) is read from disk."""
    path = storage.assembled(runtime.settings, upload_id, filename)
    state = hashing.of(runtime).get(upload_id)
    covered = state.snapshot() if state is not None else None
    if covered is None:
        actual = storage.file_sha256(path)
    else:
        actual = storage.file_sha256(path, start=covered[1], digest=covered[0])
    if actual != sha256:
        raise InvalidError(
            "file checksum does not match the declared sha256", code="CHECKSUM_MISMATCH"
        )


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
    upload = require_visible(session, actor=actor, upload_id=upload_id)
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


# Newest first, a page after a cursor (agentos/db/keyset.py) at any depth.
_NEWEST = Keyset(
    (SortKey(Upload.created_at, "datetime", True), SortKey(Upload.id, "uuid", True)),
    scope="uploads",
)


def find(session: Session, *, actor: Actor, page: PageParams) -> Page[UploadRead]:
    query = select(Upload)
    if not roles.sees_all_jobs(actor.role):
        query = query.where(Upload.owner_id == actor.id)
    window = keyset.read(session, _NEWEST, query, page)
    total, counted_at = job_counts.cached(  # reused for a moment, not counted per page
        session,
        f"uploads:count:{'all' if roles.sees_all_jobs(actor.role) else actor.id}",
        lambda reader: reader.scalar(select(func.count()).select_from(query.subquery())) or 0,
    )
    return Page[UploadRead](
        data=[UploadRead.model_validate(row[0]) for row in window.rows],
        pagination=window.pagination(total=total, total_counted_at=counted_at),
    )


def abort_stale(session: Session, *, older_than_s: float) -> list[uuid.UUID]:
    """Abort open sessions idle for longer than `older_than_s`; their files go after commit."""
    runtime = runtime_of(session)
    settings = runtime.settings
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
            hashing.of(runtime).forget(upload_id)

    after_commit(session, remove_files)
    return aborted


def require_visible(session: Session, *, actor: Actor, upload_id: uuid.UUID) -> Upload:
    return visible(session.get(Upload, upload_id), actor=actor, upload_id=upload_id)


def require_open(session: Session, *, actor: Actor, upload_id: uuid.UUID) -> Upload:
    return writable(session.get(Upload, upload_id), actor=actor, upload_id=upload_id)


def visible(upload: Upload | None, *, actor: Actor, upload_id: uuid.UUID) -> Upload:
    """`upload` (as read) if the actor may see it; another user's is not found."""
    if upload is None or (not roles.sees_all_jobs(actor.role) and upload.owner_id != actor.id):
        raise NotFoundError(f"upload {upload_id} not found", code="UPLOAD_NOT_FOUND")
    return upload


def writable(upload: Upload | None, *, actor: Actor, upload_id: uuid.UUID) -> Upload:
    """`upload` (as read) if the actor may send it chunks and it is still open."""
    roles.require_own_write(actor.role, "upload")
    upload = visible(upload, actor=actor, upload_id=upload_id)
    if upload.status != "open":
        raise ConflictError(f"upload is {upload.status}", code="UPLOAD_NOT_OPEN")
    return upload


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
