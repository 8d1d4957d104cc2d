"""A rate-limited chunk is sent again after Retry-After, not dropped; chunks are sent a
few at a time."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentos.client import uploading
from agentos.errors import RateLimitedError
from agentos.schemas.uploads import UploadInit, UploadRead


class Limited:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def put_chunk(self, upload_id: uuid.UUID, index: int, data: bytes, sha256: str) -> str:
        self.calls.append(index)
        if len(self.calls) < 3:
            raise RateLimitedError("slow down", retry_after_s=0.4)
        return "receipt"


def test_rate_limited_chunk_waits_and_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    backend: Any = Limited()
    monkeypatch.setattr(uploading.time, "sleep", sleeps.append)
    assert uploading._put_paced(backend, uuid.uuid4(), 7, b"x") == "receipt"
    assert backend.calls == [7, 7, 7]
    assert sleeps == [0.4, 0.4]


class Concurrent:
    """A backend whose first chunks are answered only once `parallel` of them are in
    flight together: a client sending one at a time never gets past the first."""

    def __init__(self, parallel: int) -> None:
        self.barrier = threading.Barrier(parallel, timeout=30)  # a deadlock guard only
        self.parallel = parallel
        self.received: list[int] = []
        self.lock = threading.Lock()

    def init_upload(self, request: UploadInit) -> UploadRead:
        now = datetime.now(UTC)
        return UploadRead(
            id=uuid.uuid4(),
            owner_id=None,
            filename=request.filename,
            total_size=request.total_size,
            sha256=request.sha256,
            chunk_size=request.chunk_size,
            total_chunks=-(-request.total_size // request.chunk_size),
            received_bytes=0,
            status="open",
            created_at=now,
            updated_at=now,
            expires_at=None,
        )

    def put_chunk(self, upload_id: uuid.UUID, index: int, data: bytes, sha256: str) -> str:
        assert hashlib.sha256(data).hexdigest() == sha256
        with self.lock:
            self.received.append(index)
            first = len(self.received) <= self.parallel
        if first:
            self.barrier.wait()
        return "receipt"


def test_chunks_are_sent_several_at_once(tmp_path: Path) -> None:
    path = tmp_path / "film.mp4"
    path.write_bytes(os.urandom(10 * 1000 + 5))
    backend: Any = Concurrent(uploading.PARALLEL_CHUNKS)
    progress: list[int] = []
    uploading.upload_file(
        backend, path, sha256="0" * 64, chunk_bytes=1000, on_progress=progress.append
    )
    assert sorted(backend.received) == list(range(11))  # each chunk once
    assert sum(progress) == path.stat().st_size
