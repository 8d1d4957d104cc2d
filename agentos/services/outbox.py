"""Side effects that must wait for the commit: bus events, task dispatch.

A service never commits; it calls `after_commit(session, fn)`. The callbacks run once the
boundary's commit succeeds and are dropped on rollback, so a worker never sees a job whose
row does not exist yet, and no event announces a change that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)
_KEY = "agentos.outbox"


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    session.info.setdefault(_KEY, []).append(callback)


def pending(session: Session) -> list[Callable[[], object]]:
    """The callbacks waiting for this session's commit (a copy)."""
    return list(session.info.get(_KEY, []))


def replace_pending(session: Session, callbacks: list[Callable[[], object]]) -> None:
    """Put back the waiting callbacks as they were (a dry run drops what it queued)."""
    session.info[_KEY] = list(callbacks)


@event.listens_for(Session, "after_commit")
def _run_outbox(session: Session) -> None:
    callbacks: list[Callable[[], object]] = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed notification must not undo a committed change
            logger.exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_outbox(session: Session) -> None:
    session.info.pop(_KEY, None)
