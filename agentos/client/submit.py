"""`jobs submit`: a chunked, resumable upload that creates a job, and following that job.

Both paths go through the upload service (locally in-process, remotely via
`/api/upload/init|chunk|status|finalize`). A chunk that fails to arrive (a broken
connection, a server restart) is retried after asking the server which chunks it still
misses, with a growing pause, so an interrupted upload resumes instead of starting over.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentos.client.connection import Connection
from agentos.errors import InvalidError, RateLimitedError, UnavailableError
from agentos.schemas.jobs import JobDetail, JobOptions
from agentos.schemas.uploads import (
    ChunkReceipt,
    UploadFinalize,
    UploadFinalized,
    UploadInit,
    UploadRead,
    UploadStatusRead,
)
from agentos.services import jobs, uploads

DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
TERMINAL = frozenset({"completed", "failed", "cancelled"})
Progress = Callable[[int], None]


def file_sha256(path: Path, on_progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
            if on_progress is not None:
                on_progress(len(block))
    return digest.hexdigest()


def _init(conn: Connection, request: UploadInit) -> UploadRead:
    if conn.local:
        with conn.session() as session:
            return uploads.init(session, actor=conn.local_actor, request=request)
    return UploadRead.model_validate(
        conn.request("POST", "/api/upload/init", json=request.model_dump(mode="json"))
    )


def _put(conn: Connection, upload_id: uuid.UUID, index: int, data: bytes) -> ChunkReceipt:
    digest = hashlib.sha256(data).hexdigest()
    if conn.local:
        with conn.session() as session:
            return uploads.put_chunk(
                session,
                actor=conn.local_actor,
                upload_id=upload_id,
                index=index,
                data=data,
                chunk_sha256=digest,
            )
    body = conn.request(
        "POST",
        "/api/upload/chunk",
        params={"upload_id": str(upload_id), "index": index},
        content=data,
        headers={"Content-Type": "application/octet-stream", "X-Chunk-SHA256": digest},
    )
    return ChunkReceipt.model_validate(body)


def _status(conn: Connection, upload_id: uuid.UUID) -> UploadStatusRead:
    if conn.local:
        with conn.session() as session:
            return uploads.status(session, actor=conn.local_actor, upload_id=upload_id)
    return UploadStatusRead.model_validate(conn.request("GET", f"/api/upload/status/{upload_id}"))


def _finalize(conn: Connection, request: UploadFinalize) -> UploadFinalized:
    if conn.local:
        with conn.session() as session:
            return uploads.finalize(session, actor=conn.local_actor, request=request)
    return UploadFinalized.model_validate(
        conn.request("POST", "/api/upload/finalize", json=request.model_dump(mode="json"))
    )


def _send_chunks(
    conn: Connection, path: Path, upload: UploadRead, missing: list[int], on_progress: Progress
) -> None:
    with path.open("rb") as handle:
        for index in missing:
            handle.seek(index * upload.chunk_size)
            data = handle.read(upload.chunk_size)
            _put_paced(conn, upload.id, index, data)
            on_progress(len(data))


def _put_paced(conn: Connection, upload_id: uuid.UUID, index: int, data: bytes) -> ChunkReceipt:
    """Send one chunk, waiting out the server's rate limit instead of giving up."""
    while True:
        try:
            return _put(conn, upload_id, index, data)
        except RateLimitedError as error:
            time.sleep(min(60.0, max(0.1, error.retry_after_s)))


def upload_file(
    conn: Connection,
    path: Path,
    *,
    sha256: str,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    on_progress: Progress = lambda _n: None,
    retries: int = 6,
) -> UploadRead:
    """Send `path` in chunks; after a failure, resume with the chunks the server misses."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidError(f"{path} is empty", code="EMPTY_FILE")
    upload = _init(
        conn,
        UploadInit(
            filename=path.name, total_size=size, sha256=sha256, chunk_size=min(chunk_bytes, size)
        ),
    )
    missing = list(range(upload.total_chunks))
    for attempt in range(retries + 1):
        try:
            _send_chunks(conn, path, upload, missing, on_progress)
            return upload
        except UnavailableError:
            if attempt == retries:
                raise
            time.sleep(min(8.0, 0.5 * 2**attempt))
            missing = _status_when_back(conn, upload.id, retries)
    return upload


def _status_when_back(conn: Connection, upload_id: uuid.UUID, retries: int) -> list[int]:
    for attempt in range(retries + 1):
        try:
            return _status(conn, upload_id).missing_chunks
        except UnavailableError:
            if attempt == retries:
                raise
            time.sleep(min(8.0, 0.5 * 2**attempt))
    return []


def submit(
    conn: Connection,
    path: Path,
    *,
    title: str | None = None,
    priority: int = 0,
    options: JobOptions | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    on_hash: Progress = lambda _n: None,
    on_progress: Progress = lambda _n: None,
) -> UploadFinalized:
    """Upload `path` and create its job; the result carries `job_id`."""
    path = path.expanduser()
    if not path.is_file():
        raise InvalidError(f"no such file: {path}", code="FILE_NOT_FOUND")
    digest = file_sha256(path, on_hash)
    upload = upload_file(
        conn, path, sha256=digest, chunk_bytes=chunk_bytes, on_progress=on_progress
    )
    request = UploadFinalize(
        upload_id=upload.id,
        title=title,
        priority=priority,
        options=(options or JobOptions()).model_dump(exclude_none=True),
    )
    return _finalize(conn, request)


def job_detail(conn: Connection, job_id: uuid.UUID) -> JobDetail:
    if conn.local:
        with conn.session() as session:
            return jobs.get_detail(session, job_id=job_id, actor=conn.local_actor)
    return JobDetail.model_validate(conn.request("GET", f"/api/jobs/{job_id}"))


def follow(
    conn: Connection,
    job_id: uuid.UUID,
    *,
    on_change: Callable[[JobDetail], None],
    poll_s: float = 1.0,
    timeout_s: float | None = None,
) -> JobDetail:
    """Call `on_change` whenever the job moves (status, stage, progress) until it ends.

    Locally the bus wakes the loop as soon as anything changes; remotely it polls.
    """
    subscription = _subscribe(conn)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last: tuple[Any, ...] | None = None
    try:
        while True:
            detail = job_detail(conn, job_id)
            key = (
                detail.status,
                detail.current_stage,
                round(detail.progress, 2),
                tuple((s.agent, s.status) for s in detail.steps),
            )
            if key != last:
                last = key
                on_change(detail)
            if detail.status.value in TERMINAL:
                return detail
            if deadline is not None and time.monotonic() > deadline:
                raise UnavailableError(
                    f"job {job_id} did not finish in {timeout_s}s", code="WAIT_TIMEOUT"
                )
            if subscription is not None:
                subscription.get(timeout_s=poll_s)
            else:
                time.sleep(poll_s)
    finally:
        if subscription is not None:
            subscription.close()


def _subscribe(conn: Connection) -> Any:
    if not conn.local:
        return None
    from agentos.services.backends import get_backends
    from agentos.services.events import CHANGES_CHANNEL

    try:
        return get_backends(conn.settings).bus.subscribe(CHANGES_CHANNEL)
    except Exception:  # no bus: polling alone still follows the job
        return None
