"""System events (the operator's event stream) and live change notifications on the bus.

Every state change a dashboard shows calls `announce()`; the bus message goes out only
after the transaction commits (see `outbox`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Update, bindparam, delete, event, func, select, update
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import SystemEvent
from agentos.db.patterns import ESCAPE, contains
from agentos.errors import NotFoundError
from agentos.schemas.events import EventRead
from agentos.services.backends.base import Backends
from agentos.services.context import Actor, current_trace_id
from agentos.services.outbox import after_commit
from agentos.services.runtime import backends_of

CHANGES_CHANNEL = "agentos.changes"
Severity = Literal["debug", "info", "warning", "error", "critical"]
SEVERITIES: tuple[Severity, ...] = ("debug", "info", "warning", "error", "critical")


_PENDING = "agentos.announcements"
# Callables in `backends.extras` told, in this process, as soon as a commit's changes are
# published: readers of this process see their own writes at once (the bus delivers the
# same news back a moment later, and to every other process).
LOCAL_CHANGE_LISTENERS = "local_change_listeners"


def on_local_change(backends: Backends, listener: Callable[[], None]) -> None:
    listeners: list[Callable[[], None]] = backends.extras.setdefault(LOCAL_CHANGE_LISTENERS, [])
    listeners.append(listener)


def announce(session: Session, kind: str, **data: Any) -> None:
    """Publish `{"kind": kind, ...data}` on the changes channel once the commit succeeds.

    Everything one transaction announces goes out together, in order, in one publish call
    (one round trip to Redis, one insert into the embedded bus)."""
    payload = {"kind": kind, **{key: _plain(value) for key, value in data.items()}}
    pending: list[dict[str, Any]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        backends = backends_of(session)

        batch = pending

        def tell_this_process() -> None:
            session.info.pop(_PENDING, None)  # committed: what is announced next is a new batch
            for listener in backends.extras.get(LOCAL_CHANGE_LISTENERS, ()):
                listener()

        def publish() -> None:
            backends.bus.publish_many(CHANGES_CHANNEL, batch)

        after_commit(session, tell_this_process)
        # Other processes hear of it a moment later anyway: this may wait for the answer.
        after_commit(session, publish, may_wait=True)
    pending.append(payload)


@event.listens_for(Session, "after_rollback")
def _drop_announcements(session: Session) -> None:
    session.info.pop(_PENDING, None)


def emit(
    session: Session,
    *,
    severity: Severity,
    source: str,
    message: str,
    kind: str = "note",
    details: dict[str, Any] | None = None,
    job_id: uuid.UUID | None = None,
    trace_id: str | None = None,
) -> SystemEvent:
    """Record a system event and announce it (with the trace id of the work at hand)."""
    event = SystemEvent(
        severity=severity,
        source=source,
        kind=kind,
        message=message,
        details=details,
        job_id=job_id,
        trace_id=trace_id or current_trace_id(),
    )
    session.add(event)
    session.flush()
    announce(
        session,
        "event.created",
        event_id=event.id,
        severity=severity,
        source=source,
        message=message,
    )
    return event


@functools.cache
def _acknowledge_one() -> Update:
    """Built once with bound parameters: building it per call cost its cache-key walk."""
    return (
        update(SystemEvent)
        .where(SystemEvent.id == bindparam("event_id"), SystemEvent.acknowledged_at.is_(None))
        .values(
            acknowledged_at=bindparam("acknowledged_at"),
            acknowledged_by=bindparam("acknowledged_by"),
        )
        .returning(*SystemEvent.__table__.c)
    )


def acknowledge(session: Session, *, event_id: uuid.UUID, actor: Actor) -> EventRead:
    """Mark one event acknowledged by `actor` (already acknowledged: left as it was)."""
    # One conditional UPDATE ... RETURNING: no read-then-write race, one round trip. Core,
    # not ORM: loading an entity only to copy it into EventRead doubled the action's CPU.
    row = (
        session.connection()
        .execute(
            _acknowledge_one(),
            {"event_id": event_id, "acknowledged_at": utcnow(), "acknowledged_by": actor.id},
        )
        .mappings()
        .one_or_none()
    )
    if row is not None:
        announce(session, "event.acknowledged", event_id=row["id"], by=actor.name, count=1)
        return EventRead.model_validate(dict(row))
    existing = session.get(SystemEvent, event_id)
    if existing is None:
        raise NotFoundError(f"event {event_id} not found", code="EVENT_NOT_FOUND")
    return EventRead.model_validate(existing)


def acknowledge_all(session: Session, *, actor: Actor, severity: Severity | None = None) -> int:
    """Acknowledge every unacknowledged event (of `severity`); returns how many."""
    stmt = (
        update(SystemEvent)
        .where(SystemEvent.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by=actor.id)
        .execution_options(synchronize_session=False)
    )
    if severity is not None:
        stmt = stmt.where(SystemEvent.severity == severity)
    count = int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    if count:
        announce(session, "event.acknowledged", by=actor.name, count=count, severity=severity)
    return count


def find(
    session: Session,
    *,
    severity: Severity | None = None,
    min_severity: Severity | None = None,
    text: str | None = None,
    acknowledged: bool | None = None,
    source: str | None = None,
    trace_id: str | None = None,
    job_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[EventRead]:
    """Events newest first, filtered where they are stored."""
    query = select(SystemEvent).order_by(SystemEvent.created_at.desc()).limit(limit)
    if severity is not None:
        query = query.where(SystemEvent.severity == severity)
    if min_severity is not None:
        query = query.where(SystemEvent.severity.in_(SEVERITIES[SEVERITIES.index(min_severity) :]))
    if text:
        query = query.where(SystemEvent.message.ilike(contains(text), escape=ESCAPE))
    if acknowledged is not None:
        flag = SystemEvent.acknowledged_at
        query = query.where(flag.is_not(None) if acknowledged else flag.is_(None))
    if source is not None:
        query = query.where(SystemEvent.source == source)
    if trace_id is not None:
        query = query.where(SystemEvent.trace_id == trace_id)
    if job_id is not None:
        query = query.where(SystemEvent.job_id == job_id)
    return [EventRead.model_validate(row) for row in session.scalars(query)]


def purge(session: Session, *, older_than_days: int, dry_run: bool) -> int:
    """Acknowledged events older than `older_than_days` (unacknowledged ones stay)."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    old = (SystemEvent.acknowledged_at.is_not(None), SystemEvent.created_at < cutoff)
    if dry_run:
        return int(session.scalar(select(func.count()).where(*old)) or 0)
    removed = session.execute(delete(SystemEvent).where(*old))
    if removed.rowcount:  # type: ignore[attr-defined]
        announce(session, "event.purged", count=removed.rowcount)  # type: ignore[attr-defined]
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
