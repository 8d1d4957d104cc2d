"""A rate-limited chunk is sent again after Retry-After, not dropped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from agentos.client import uploading
from agentos.errors import RateLimitedError


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
