"""`jobs submit`: a chunked, resumable upload that creates a job, and following that job.

Written against the `Backend` (the upload service in-process, or
`/api/upload/init|chunk|status|finalize`). A few chunks are in flight at once: the server
answers a chunk only once its bytes are on stable storage, and one at a time the client
would wait for the disk between chunks. A chunk that fails to arrive (a broken
connection, a server restart) is retried after asking the server which chunks it still
misses, with a growing pause, so an interrupted upload resumes instead of starting over.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from agentos.client.backend import Backend
from agentos.errors import InvalidError, RateLimitedError, UnavailableError
from agentos.schemas.jobs import JobDetail, JobOptions, JobStatus
from agentos.schemas.uploads import (
    ChunkReceipt,
    UploadFinalize,
    UploadFinalized,
    UploadInit,
    UploadRead,
)

DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
# Chunks in flight at once (and in this process's memory): enough to keep the server's
# disk and the network busy together.
PARALLEL_CHUNKS = 4
Progress = Callable[[int], None]


def file_sha256(path: Path, on_progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
            if on_progress is not None:
                on_progress(len(block))
    return digest.hexdigest()


def _send_chunks(
    backend: Backend,
    path: Path,
    upload: UploadRead,
    missing: list[int],
    on_progress: Progress,
    parallel: int = PARALLEL_CHUNKS,
) -> None:
    """Send the `missing` chunks, `parallel` at a time. The first failure stops sending
    more; the chunks in flight end (sent or not) before it is raised."""

    def send(index: int) -> int:
        with path.open("rb") as handle:
            handle.seek(index * upload.chunk_size)
            data = handle.read(upload.chunk_size)
        _put_paced(backend, upload.id, index, data)
        return len(data)

    waiting = iter(missing)
    failure: BaseException | None = None
    with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="upload-chunk") as pool:
        running = {pool.submit(send, index) for index in itertools.islice(waiting, parallel)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if error is not None:
                    failure = failure or error
                    continue
                on_progress(future.result())  # in this thread: progress bars need no lock
                if failure is None:
                    running |= {pool.submit(send, index) for index in itertools.islice(waiting, 1)}
    if failure is not None:
        raise failure


def _put_paced(backend: Backend, upload_id: uuid.UUID, index: int, data: bytes) -> ChunkReceipt:
    """Send one chunk, waiting out the server's rate limit instead of giving up."""
    while True:
        try:
            return backend.put_chunk(upload_id, index, data, hashlib.sha256(data).hexdigest())
        except RateLimitedError as error:
            time.sleep(min(60.0, max(0.1, error.retry_after_s)))


def upload_file(
    backend: Backend,
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
    upload = backend.init_upload(
        UploadInit(
            filename=path.name, total_size=size, sha256=sha256, chunk_size=min(chunk_bytes, size)
        ),
    )
    missing = list(range(upload.total_chunks))
    for attempt in range(retries + 1):
        try:
            _send_chunks(backend, path, upload, missing, on_progress)
            return upload
        except UnavailableError:
            if attempt == retries:
                raise
            time.sleep(min(8.0, 0.5 * 2**attempt))
            missing = _status_when_back(backend, upload.id, retries)
    return upload


def _status_when_back(backend: Backend, upload_id: uuid.UUID, retries: int) -> list[int]:
    for attempt in range(retries + 1):
        try:
            return backend.upload_status(upload_id).missing_chunks
        except UnavailableError:
            if attempt == retries:
                raise
            time.sleep(min(8.0, 0.5 * 2**attempt))
    return []


def submit(
    backend: Backend,
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
        backend, path, sha256=digest, chunk_bytes=chunk_bytes, on_progress=on_progress
    )
    request = UploadFinalize(
        upload_id=upload.id,
        title=title,
        priority=priority,
        options=(options or JobOptions()).model_dump(exclude_none=True),
    )
    return backend.finalize_upload(request)


def follow(
    backend: Backend,
    job_id: uuid.UUID,
    *,
    on_change: Callable[[JobDetail], None],
    poll_s: float = 1.0,
    timeout_s: float | None = None,
    on_idle: Callable[[JobDetail, float], None] | None = None,
) -> JobDetail:
    """Call `on_change` whenever the job moves (status, stage, progress) until it ends,
    and `on_idle(detail, seconds)` at each look that found no move since `seconds`.

    Locally the bus wakes the loop as soon as anything changes; remotely it polls.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last: tuple[Any, ...] | None = None
    moved = time.monotonic()
    with backend.changes() as changes:
        while True:
            detail = backend.show_job(job_id)
            key = (
                detail.status,
                detail.current_stage,
                round(detail.progress, 2),
                tuple((s.agent, s.status) for s in detail.steps),
            )
            if key != last:
                last, moved = key, time.monotonic()
                on_change(detail)
            elif on_idle is not None:
                on_idle(detail, time.monotonic() - moved)
            if detail.status in JobStatus.TERMINAL:
                return detail
            if deadline is not None and time.monotonic() > deadline:
                raise UnavailableError(
                    f"job {job_id} did not finish in {timeout_s}s", code="WAIT_TIMEOUT"
                )
            changes.wait(poll_s)
