"""A rate-limited chunk is sent again after Retry-After, not dropped."""

from __future__ import annotations

import uuid

import pytest

from agentos.client import submit
from agentos.errors import RateLimitedError


def test_rate_limited_chunk_waits_and_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def fake_put(conn: object, upload_id: uuid.UUID, index: int, data: bytes) -> str:
        calls.append(index)
        if len(calls) < 3:
            raise RateLimitedError("slow down", retry_after_s=0.4)
        return "receipt"

    monkeypatch.setattr(submit, "_put", fake_put)
    monkeypatch.setattr(submit.time, "sleep", sleeps.append)
    assert submit._put_paced(object(), uuid.uuid4(), 7, b"x") == "receipt"  # type: ignore[arg-type]
    assert calls == [7, 7, 7]
    assert sleeps == [0.4, 0.4]
