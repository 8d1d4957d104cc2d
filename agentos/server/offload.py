"""Blocking work of the hot routes, off the event loop without AnyIO's per-call machinery.

`run_in_threadpool` (AnyIO's `to_thread.run_sync`) looks up the running async library,
takes a capacity-limiter token and opens a cancel scope on every call: on the action route
that bookkeeping cost the event loop about a fifth of its time. Here a call is one
`run_in_executor` with the caller's context variables (trace id, log fields) copied in, as
AnyIO does. A call cannot be cancelled once running, as with AnyIO's default: a committed
action still answers its audit record.

Quick work shares a small pool: each action holds the interpreter lock for most of its
run, so threads beyond a few only queue for it and add switching (at 32 concurrent actions
6 threads did 15 % more than 16 or 40). Work that is slow by nature (a backup, an export,
a drain that waits) must not hold that pool up, so `Lanes` sends a kind of work whose
recent runs took over `SLOW_AFTER_S` to AnyIO's general threadpool instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from agentos.services import outbox
from agentos.services.outbox import Callback

QUICK_WORKERS = 6
SLOW_AFTER_S = 0.1
MAX_KINDS = 1024  # names are checked by the caller; this only bounds the table
P = ParamSpec("P")
R = TypeVar("R")


class Lanes:
    """A small pool for quick work, AnyIO's threadpool for kinds of work that run long."""

    def __init__(self, workers: int = QUICK_WORKERS, slow_after_s: float = SLOW_AFTER_S) -> None:
        self.workers = workers
        self.slow_after_s = slow_after_s
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._typical_s: dict[str, float] = {}  # per kind: a moving average of run times

    def is_slow(self, kind: str) -> bool:
        return self._typical_s.get(kind, 0.0) > self.slow_after_s

    async def run(self, kind: str, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`func(*args, **kwargs)` on a worker thread, in a copy of the caller's context."""
        timed = functools.partial(self._timed, kind, functools.partial(func, *args, **kwargs))
        if self.is_slow(kind):
            return await run_in_threadpool(timed)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), context.run, timed)

    async def run_then(self, kind: str, func: Callable[[list[Callback]], R]) -> tuple[R, Finished]:
        """`func(later)` on a worker thread, in a copy of the caller's context; what it leaves
        in `later` runs on that thread after its result is handed back, so the caller can
        send its answer meanwhile. Returns the result and what says when `later` ran.
        When `func` raises, `later` runs first: an error is answered with nothing left
        behind it."""
        loop = asyncio.get_running_loop()
        finished = Finished(loop)
        if self.is_slow(kind):  # slow work: `later` runs before the answer, on AnyIO's thread
            result = await run_in_threadpool(self._timed_then_all, kind, func)
            finished.set()
            return result, finished
        answered: asyncio.Future[R] = loop.create_future()

        def work() -> None:
            later: list[Callback] = []
            try:
                result = self._timed(kind, functools.partial(func, later))
            except BaseException as error:  # handed to the caller, as run_in_executor does
                outbox.run_all(later)
                loop.call_soon_threadsafe(_settle, answered, None, error)
            else:
                loop.call_soon_threadsafe(_settle, answered, result, None)
                outbox.run_all(later)
            finished.set()

        self._executor().submit(contextvars.copy_context().run, work)
        return await answered, finished

    def _timed_then_all(self, kind: str, func: Callable[[list[Callback]], R]) -> R:
        later: list[Callback] = []
        try:
            return self._timed(kind, functools.partial(func, later))
        finally:
            outbox.run_all(later)

    def _timed(self, kind: str, call: Callable[[], R]) -> R:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self._record(kind, time.perf_counter() - started)

    def _record(self, kind: str, elapsed_s: float) -> None:
        with self._lock:
            typical = self._typical_s.get(kind)
            if typical is None:
                if len(self._typical_s) < MAX_KINDS:
                    self._typical_s[kind] = elapsed_s
            elif elapsed_s > self.slow_after_s:  # one slow run moves it to the general pool
                self._typical_s[kind] = max(typical, elapsed_s)
            else:  # and quick runs, each halving the distance, bring it back
                self._typical_s[kind] = (typical + elapsed_s) / 2

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.workers, thread_name_prefix="agentos-quick"
                    )
        return self._pool


class Finished:
    """Set once the work left for after an answer ran. Waking the event loop costs a system
    call or two, so the worker wakes it only when a waiter is already there: most often the
    work is done before the answer is even sent."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._done = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """On the worker thread."""
        with self._lock:
            self._done = True
            waiter = self._waiter
        if waiter is not None:
            self._loop.call_soon_threadsafe(_settle, waiter, None, None)

    def done(self) -> bool:
        return self._done

    async def wait(self) -> None:
        """On the event loop."""
        with self._lock:
            if self._done:
                return
            self._waiter = self._loop.create_future()
        await self._waiter


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled (its client went away)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


ACTIONS = Lanes()  # one per process: the actions of every app in it share the threads
