"""Resumable chunked uploads (`sessions`) and the files behind them (`storage`)."""

from agentos.services.uploads.sessions import (
    abort_stale,
    create_from_upload,
    create_job,
    finalize,
    find,
    init,
    put_chunk,
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
