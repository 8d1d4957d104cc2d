"""The whole file's running SHA-256 (services/uploads/hashing.py): chunks in any order, the
memory budget, a chunk that never comes, a read that fails, and forgetting an upload."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentos.services.uploads import hashing

CHUNK = 1000
DATA = os.urandom(CHUNK * 5 + 123)  # six chunks, the last one short
COUNT = 6


def _chunk(index: int) -> bytes:
    return DATA[index * CHUNK : (index + 1) * CHUNK]


class File:
    """The part file as the state reads it back: which chunks it had to read."""

    def __init__(self, *, fail: bool = False) -> None:
        self.read: list[int] = []
        self.fail = fail

    def __call__(self, index: int) -> Iterable[bytes]:
        self.read.append(index)
        if self.fail:
            raise OSError("the part went away")
        return [_chunk(index)]


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def _state(pool: ThreadPoolExecutor, budget: int = 10 * CHUNK) -> hashing.RunningHash:
    return hashing.RunningHash(
        chunk_size=CHUNK, total_size=len(DATA), budget=hashing.Budget(budget), pool=pool
    )


def test_chunks_in_any_order_give_the_whole_file_sha256(pool: ThreadPoolExecutor) -> None:
    state, file = _state(pool), File()
    for index in (4, 1, 5, 0, 3, 2, 1):  # 1 twice: a duplicate is taken in once
        state.advance(index, [_chunk(index)], file)
    snapshot = state.snapshot()
    assert snapshot is not None
    digest, covered = snapshot
    assert covered == len(DATA)
    assert digest.hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert file.read == []  # every chunk's bytes were still in memory
    assert state.budget.free == 10 * CHUNK


def test_beyond_the_memory_budget_chunks_are_read_back(pool: ThreadPoolExecutor) -> None:
    state, file = _state(pool, budget=2 * CHUNK), File()
    for index in (5, 4, 3, 2, 1, 0):
        state.advance(index, [_chunk(index)], file)
    snapshot = state.snapshot()
    assert snapshot is not None
    assert snapshot[0].hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert file.read == [0, 1, 2, 3]  # 5 and 4 took the budget: the rest waited bytes-less
    assert state.budget.free == 2 * CHUNK


def test_a_chunk_that_never_comes_leaves_the_digest_of_those_before_it(
    pool: ThreadPoolExecutor,
) -> None:
    state = _state(pool)
    for index in (0, 1, 3, 4):
        state.advance(index, [_chunk(index)], File())
    snapshot = state.snapshot()
    assert snapshot is not None
    digest, covered = snapshot
    assert covered == 2 * CHUNK
    assert digest.hexdigest() == hashlib.sha256(DATA[:covered]).hexdigest()
    digest.update(b"finalize continues a copy")  # the state itself is untouched
    again = state.snapshot()
    assert again is not None
    assert again[0].hexdigest() == hashlib.sha256(DATA[:covered]).hexdigest()


def test_too_many_chunks_waiting_give_the_state_up(
    pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "MAX_QUEUED", 2)
    state = _state(pool)
    for index in (1, 2, 3):
        state.advance(index, [_chunk(index)], File())
    assert state.snapshot() is None
    assert state.budget.free == 10 * CHUNK  # what waited was let go
    state.advance(0, [_chunk(0)], File())
    assert state.snapshot() is None


def test_a_chunk_that_cannot_be_read_back_gives_the_state_up(pool: ThreadPoolExecutor) -> None:
    state, file = _state(pool, budget=0), File(fail=True)
    state.advance(1, [_chunk(1)], file)
    state.advance(0, [_chunk(0)], file)
    assert state.snapshot() is None
    assert file.read == [0]


def test_forgetting_an_upload_lets_its_waiting_chunks_go() -> None:
    states = hashing.RunningHashes()
    try:
        upload = hashing.uuid.uuid4()
        states.start(upload, chunk_size=CHUNK, total_size=len(DATA))
        state = states.get(upload)
        assert state is not None
        state.advance(3, [_chunk(3)], File())
        assert states.budget.free == hashing.QUEUE_BUDGET_BYTES - CHUNK
        states.forget(upload)
        assert states.get(upload) is None
        assert states.budget.free == hashing.QUEUE_BUDGET_BYTES
        assert state.snapshot() is None
    finally:
        states.close()
