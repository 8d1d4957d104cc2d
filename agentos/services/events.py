"""System events (the operator's event stream) and live change notifications on the bus.

Every state change a dashboard shows calls `announce()`; the bus message goes out only
after the transaction commits (see `outbox`).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy.orm import Session

from agentos.db.models import SystemEvent
from agentos.services.outbox import after_commit
from agentos.services.runtime import backends_of

CHANGES_CHANNEL = "agentos.changes"
Severity = Literal["debug", "info", "warning", "error", "critical"]
SEVERITIES: tuple[str, ...] = ("debug", "info", "warning", "error", "critical")


def announce(session: Session, kind: str, **data: Any) -> None:
    """Publish `{"kind": kind, ...data}` on the changes channel once the commit succeeds."""
    payload = {"kind": kind, **{key: _plain(value) for key, value in data.items()}}
    bus = backends_of(session).bus
    after_commit(session, lambda: bus.publish(CHANGES_CHANNEL, payload))


def emit(
    session: Session,
    *,
    severity: Severity,
    source: str,
    message: str,
    kind: str = "note",
    details: dict[str, Any] | None = None,
    job_id: uuid.UUID | None = None,
) -> SystemEvent:
    """Record a system event and announce it."""
    event = SystemEvent(
        severity=severity, source=source, kind=kind, message=message, details=details, job_id=job_id
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


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
