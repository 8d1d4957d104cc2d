"""Blocking work of the hot routes, off the event loop without AnyIO's per-call machinery.

`run_in_threadpool` (AnyIO's `to_thread.run_sync`) looks up the running async library,
takes a capacity-limiter token and opens a cancel scope on every call: on the action route
that bookkeeping cost the event loop about a fifth of its time. Here a call is one
`run_in_executor` on a pool of its own, with the caller's context variables (trace id,
log fields) copied in as AnyIO does. A call cannot be cancelled once running, as with
AnyIO's default: a committed action still answers its audit record.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

# Enough threads to keep the database pool busy; more would only queue for the
# interpreter lock (each action holds it for most of its run).
WORKERS = 16
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
P = ParamSpec("P")
R = TypeVar("R")


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="agentos-work")
    return _pool


async def in_worker_thread(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`func(*args, **kwargs)` on a worker thread, in a copy of the caller's context."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, func, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor(), call)
