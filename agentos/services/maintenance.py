"""Maintenance mode, shared by every process of a deployment through the runtime
`settings` table: while it is on, user write endpoints answer 503 with the operator's
message and Retry-After; reads, /health and the admin endpoints keep working.

Each process reads the flag at most every `CHECK_INTERVAL_S` (so another server sees a
change within that time) and at once after changing it itself.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import RuntimeSetting
from agentos.errors import UnavailableError
from agentos.schemas.system import MaintenanceState
from agentos.services import config, events
from agentos.services.context import Actor
from agentos.services.outbox import after_commit
from agentos.services.runtime import Runtime, runtime_of

MAINTENANCE_KEY = "system.maintenance"
CHECK_INTERVAL_S = 0.5
OFF = MaintenanceState(enabled=False)


def read(session: Session) -> MaintenanceState:
    row = session.get(RuntimeSetting, MAINTENANCE_KEY)
    if row is None or not isinstance(row.value, dict) or not row.value.get("enabled"):
        return OFF
    value = row.value
    since = value.get("since")
    return MaintenanceState(
        enabled=True,
        message=str(value.get("message") or "maintenance"),
        retry_after_s=int(value.get("retry_after_s") or 300),
        since=datetime.fromisoformat(since) if isinstance(since, str) else row.updated_at,
        by=row.updated_by,
    )


def write(session: Session, *, state: MaintenanceState, actor: Actor) -> MaintenanceState:
    """Put `state` in force (a restore uses it to put back what was in force before)."""
    value = state.model_dump(mode="json", include={"enabled", "message", "retry_after_s", "since"})
    config.put(session, key=MAINTENANCE_KEY, value=value, actor=actor)
    kind = "system.maintenance_on" if state.enabled else "system.maintenance_off"
    events.announce(session, kind, by=actor.name, message=state.message)
    # After the commit: a read between now and then would cache the old flag again.
    after_commit(session, _watch(runtime_of(session)).forget)
    return read(session)


def enable(session: Session, *, message: str, retry_after_s: int, actor: Actor) -> MaintenanceState:
    state = MaintenanceState(
        enabled=True, message=message, retry_after_s=retry_after_s, since=utcnow()
    )
    events.emit(
        session,
        severity="warning",
        source="system",
        kind="maintenance_on",
        message=f"maintenance mode on ({actor.name}): {message}",
        details={"retry_after_s": retry_after_s},
    )
    return write(session, state=state, actor=actor)


def disable(session: Session, *, actor: Actor) -> MaintenanceState:
    if read(session).enabled:
        events.emit(
            session,
            severity="info",
            source="system",
            kind="maintenance_off",
            message=f"maintenance mode off ({actor.name})",
        )
    return write(session, state=OFF, actor=actor)


class _Watch:
    """This process's view of the flag, read again when older than CHECK_INTERVAL_S."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._state = OFF
        self._read_at = 0.0
        self._forgotten = 0  # a read that began before a forget must not be kept

    def forget(self) -> None:
        self._forgotten += 1
        self._read_at = 0.0

    def current(self) -> MaintenanceState:
        if time.monotonic() - self._read_at < CHECK_INTERVAL_S:
            return self._state
        with self._lock:
            if time.monotonic() - self._read_at >= CHECK_INTERVAL_S:
                forgotten = self._forgotten
                try:
                    with self.runtime.read_session() as session:
                        self._state = read(session)
                except Exception:  # database down: keep the last answer; /health says why
                    pass
                if forgotten == self._forgotten:
                    self._read_at = time.monotonic()
        return self._state

    def fresh(self) -> bool:
        return time.monotonic() - self._read_at < CHECK_INTERVAL_S


def _watch(runtime: Runtime) -> _Watch:
    return runtime.component(_Watch, lambda: _Watch(runtime))


def forget(runtime: Runtime) -> None:
    """Read the flag again on the next request (after a restore replaced it)."""
    _watch(runtime).forget()


def current(runtime: Runtime) -> MaintenanceState:
    """The flag as this process knows it (at most CHECK_INTERVAL_S old)."""
    return _watch(runtime).current()


def known_fresh(runtime: Runtime) -> MaintenanceState | None:
    """The flag if this process read it within CHECK_INTERVAL_S (no I/O), else None."""
    watch = _watch(runtime)
    return watch.current() if watch.fresh() else None


def refuse_writes(state: MaintenanceState) -> None:
    """Raise 503 MAINTENANCE with the operator's message while maintenance is on."""
    if state.enabled:
        raise UnavailableError(
            f"maintenance: {state.message}",
            code="MAINTENANCE",
            details={"retry_after_s": state.retry_after_s, "message": state.message},
        )
