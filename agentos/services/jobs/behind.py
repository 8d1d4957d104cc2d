"""Work a reader starts but does not wait for: a recount of a kept total, a list's anchors.

One run per key at a time in this process, on a small pool of threads, each run with a read
session of its own (never the reader's, which ends with its request).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from agentos.services.runtime import Runtime

logger = logging.getLogger(__name__)

THREADS = 2
_running: set[tuple[int, str]] = set()  # (id of the runtime, key)
_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (its process, the pool)


def soon(runtime: Runtime, key: str, work: Callable[[Session], None]) -> bool:
    """Run `work` on a read session of `runtime` in the background, unless a run for `key`
    is already under way here; whether this call started one. A failure is logged."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            # First use, or a forked child: the parent's threads and pending keys are not here.
            _running.clear()
            _pool = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="behind"))
        if (id(runtime), key) in _running:
            return False
        _running.add((id(runtime), key))
        pool = _pool[1]

    def run() -> None:
        try:
            with runtime.read_session() as session:
                work(session)
        except Exception as exc:  # the reader already has its answer; a later one retries
            logger.warning("background work %s failed: %s", key, exc)
        finally:
            with _lock:
                _running.discard((id(runtime), key))

    pool.submit(run)
    return True


def busy() -> bool:
    """Whether background work started in this process is still under way."""
    with _lock:
        return bool(_running)
