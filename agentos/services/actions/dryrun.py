"""Dry runs for actions whose service has no dry-run mode of its own.

The handler runs for real inside a SAVEPOINT that is then rolled back, so the answer is
exactly what the action would do; the after-commit work it queued (file removal, bus
events, dispatch) is dropped with it, so nothing outside the database happens either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from agentos.services import outbox

T = TypeVar("T")


def rehearse(session: Session, run: Callable[[], T]) -> T:
    pending = outbox.pending(session)
    savepoint = session.begin_nested()
    try:
        return run()
    finally:
        savepoint.rollback()
        outbox.replace_pending(session, pending)
