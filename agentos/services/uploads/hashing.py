"""The whole file's SHA-256, taken in while the chunks arrive, so finalize need not read
the file again.

hashlib cannot export a hash's state, so the running state lives in the memory of the
process that opened the upload (a few hundred bytes each). It advances over each chunk
once the chunk is durable and recorded, strictly in index order, so it always covers
exactly the bytes [0, covered) of the file; those bytes never change again, since a
recorded chunk is never rewritten (see `storage.chunk_region`).

The hashing runs on a small pool of this process's threads, not in the chunk's request:
a recorded chunk only joins its upload's queue, with its bytes while they fit in
`QUEUE_BUDGET_BYTES` (for all uploads together: the memory stays flat whatever the
files' sizes), else with its index only, and is then read back from the file.

Finalize waits for the queue to drain and continues from the state over the rest of the
file (`RunningHash.snapshot`): nothing when every chunk came through this process, all
of it after a restart or when another process opened the upload, the rest when the state
was given up (more than `MAX_QUEUED` chunks waiting: a chunk never came).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from agentos.services.runtime import Runtime

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

logger = logging.getLogger(__name__)

# Chunks waiting (for their turn or a hashing thread) before a state gives up.
MAX_QUEUED = 256
# Bytes of waiting chunks kept in memory by all uploads of a process together.
QUEUE_BUDGET_BYTES = 32 * 1024 * 1024
# Open uploads with a state in one process; the oldest is dropped beyond this.
MAX_STATES = 1024
# How long finalize waits for the queue to drain before reading the rest of the file.
SETTLE_S = 30.0
# SHA-256 runs at about 1-2 GB/s a core: a few threads keep up with any network.
HASHING_THREADS = min(4, os.cpu_count() or 1)

ReadChunk = Callable[[int], Iterable[bytes]]


class Budget:
    """Bytes that waiting chunks may keep in memory, shared by the process's uploads."""

    def __init__(self, total: int) -> None:
        self.free = total
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if size > self.free:
                return False
            self.free -= size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.free += size


class RunningHash:
    """One upload's state: the digest of chunks [0, next_index) and the chunks waiting."""

    def __init__(
        self, *, chunk_size: int, total_size: int, budget: Budget, pool: ThreadPoolExecutor
    ) -> None:
        self.digest = hashlib.sha256()
        self.chunk_size = chunk_size
        self.total_size = total_size
        self.budget = budget
        self.pool = pool
        self.next_index = 0
        # Recorded chunks not taken in yet: their bytes, or None to read them back.
        self.queued: dict[int, Sequence[bytes] | None] = {}
        self.busy = False  # a pool thread is taking chunks in
        self.broken = False
        self.settled = threading.Condition()

    def advance(self, index: int, pieces: Sequence[bytes], read_chunk: ReadChunk) -> None:
        """Queue chunk `index` (recorded and durable); a pool thread takes it in, with every
        chunk after it that is waiting, once it is next. Returns at once."""
        with self.settled:
            if self.broken or index < self.next_index or index in self.queued:
                return
            self.queued[index] = pieces if self.budget.take(_size(pieces)) else None
            if len(self.queued) > MAX_QUEUED:
                self.give_up()
                return
            if self.busy or self.next_index not in self.queued:
                return
            self.busy = True
        try:
            self.pool.submit(self._drain, read_chunk)
        except RuntimeError:  # the pool was shut down: the process is stopping
            with self.settled:
                self._stop(broken=True)

    def snapshot(self) -> tuple[Hash, int] | None:
        """A copy of the digest and how many leading bytes of the file it covers, once the
        queue is drained; None if the state was given up."""
        with self.settled:
            self.settled.wait_for(lambda: not self.busy, timeout=SETTLE_S)
            if self.broken or self.busy:
                return None
            covered = min(self.next_index * self.chunk_size, self.total_size)
            return self.digest.copy(), covered

    def abandon(self) -> None:
        """Stop following the upload and wake a finalize waiting for it."""
        with self.settled:
            self._stop(broken=True)

    def give_up(self) -> None:
        """Stop following the upload (callers hold `settled`); finalize reads the file."""
        self.broken = True
        self.budget.give(sum(_size(kept) for kept in self.queued.values()))
        self.queued.clear()

    def _drain(self, read_chunk: ReadChunk) -> None:
        try:
            while True:
                with self.settled:
                    if self.broken or self.next_index not in self.queued:
                        self._stop(broken=self.broken)
                        return
                    kept = self.queued.pop(self.next_index)
                    self.budget.give(_size(kept))
                blocks = read_chunk(self.next_index) if kept is None else kept
                for block in blocks:
                    self.digest.update(block)  # releases the GIL
                with self.settled:
                    self.next_index += 1
        except Exception:
            logger.exception("the running SHA-256 of an upload stopped; finalize reads the file")
            with self.settled:
                self._stop(broken=True)

    def _stop(self, *, broken: bool) -> None:  # callers hold `settled`
        if broken:
            self.give_up()
        self.busy = False
        self.settled.notify_all()


class RunningHashes:
    """The states of the uploads this process opened, and the threads that hash."""

    def __init__(self) -> None:
        self._states: OrderedDict[uuid.UUID, RunningHash] = OrderedDict()
        self._lock = threading.Lock()
        self.budget = Budget(QUEUE_BUDGET_BYTES)
        self.pool = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="upload-sha256")

    def start(self, upload_id: uuid.UUID, *, chunk_size: int, total_size: int) -> None:
        state = RunningHash(
            chunk_size=chunk_size, total_size=total_size, budget=self.budget, pool=self.pool
        )
        with self._lock:
            self._states[upload_id] = state
            dropped = [self._states.popitem(last=False)[1] for _ in self._excess()]
        for old in dropped:
            old.abandon()

    def get(self, upload_id: uuid.UUID) -> RunningHash | None:
        with self._lock:
            return self._states.get(upload_id)

    def forget(self, upload_id: uuid.UUID) -> None:
        with self._lock:
            state = self._states.pop(upload_id, None)
        if state is not None:
            state.abandon()

    def close(self) -> None:
        """Called by `Runtime.close`: no more hashing; waiting chunks are dropped."""
        with self._lock:
            states = list(self._states.values())
            self._states.clear()
        for state in states:
            state.abandon()  # a drain still running stops at its next chunk
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _excess(self) -> range:
        return range(max(0, len(self._states) - MAX_STATES))


def of(runtime: Runtime) -> RunningHashes:
    return runtime.component(RunningHashes, RunningHashes)


def _size(pieces: Sequence[bytes] | None) -> int:
    return 0 if pieces is None else sum(map(len, pieces))
