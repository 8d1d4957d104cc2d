"""Resumable chunked uploads (`sessions`, `chunks`), the files behind them (`storage`) and
the whole file's running SHA-256 (`hashing`)."""

from agentos.services.uploads.chunks import put_chunk
from agentos.services.uploads.sessions import (
    abort_stale,
    create_from_upload,
    create_job,
    finalize,
    find,
    init,
    status,
)

__all__ = [
    "abort_stale",
    "create_from_upload",
    "create_job",
    "finalize",
    "find",
    "init",
    "put_chunk",
    "status",
]
