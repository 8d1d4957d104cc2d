"""Side effects that must wait for the commit: bus events, task dispatch.

A service never commits; it calls `after_commit(session, fn)`. The callbacks run once the
boundary's commit succeeds and are dropped on rollback, so a worker never sees a job whose
row does not exist yet, and no event announces a change that was rolled back.

A callback nothing in this process needs before the boundary answers (the bus
announcement: `may_wait=True`) can wait until the answer is sent: the admin action route
collects those (`defer_to`) and runs them on its worker thread after answering
(server/offload.py). Everything else (cached totals forgotten, live settings reloaded, the
in-process change listeners) still runs before the answer, so a reader sees its writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)
_KEY = "agentos.outbox"
_DEFERRED_KEY = "agentos.outbox.deferred"
Callback = Callable[[], object]


@dataclass(frozen=True)
class _MayWait:
    callback: Callback

    def __call__(self) -> object:
        return self.callback()


def after_commit(session: Session, callback: Callback, *, may_wait: bool = False) -> None:
    session.info.setdefault(_KEY, []).append(_MayWait(callback) if may_wait else callback)


def pending(session: Session) -> list[Callable[[], object]]:
    """The callbacks waiting for this session's commit (a copy)."""
    return list(session.info.get(_KEY, []))


def replace_pending(session: Session, callbacks: list[Callable[[], object]]) -> None:
    """Put back the waiting callbacks as they were (a dry run drops what it queued)."""
    session.info[_KEY] = list(callbacks)


def defer_to(session: Session, later: list[Callback]) -> None:
    """From now on the session's after-commit callbacks that may wait are appended to
    `later`, in commit order, instead of run: the boundary runs them (`run_all`) once its
    answer is sent. The others still run at each commit."""
    session.info[_DEFERRED_KEY] = later


def run_all(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed notification must not undo a committed change
            logger.exception("after-commit callback failed")


@event.listens_for(Session, "after_commit")
def _run_outbox(session: Session) -> None:
    callbacks: list[Callback] = session.info.pop(_KEY, [])
    later: list[Callback] | None = session.info.get(_DEFERRED_KEY)
    if later is None:
        run_all(callbacks)
        return
    run_all([callback for callback in callbacks if not isinstance(callback, _MayWait)])
    later.extend(callback for callback in callbacks if isinstance(callback, _MayWait))


@event.listens_for(Session, "after_rollback")
def _drop_outbox(session: Session) -> None:
    session.info.pop(_KEY, None)
