"""The one job state machine: every status change goes through `transition`."""

from __future__ import annotations

from sqlalchemy.orm import Session, object_session

from agentos.db.models import Job
from agentos.errors import ConflictError, InternalError
from agentos.services import events

# from -> the statuses it may move to. `processing -> queued` is a stage handing over to
# the next one (or a stalled stage being reclaimed); `failed/cancelled -> queued` is a retry.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"queued", "failed", "cancelled"}),
    "queued": frozenset({"processing", "failed", "cancelled"}),
    "processing": frozenset({"queued", "completed", "failed", "cancelled"}),
    "completed": frozenset(),
    "failed": frozenset({"queued"}),
    "cancelled": frozenset({"queued"}),
}


def can_transition(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, to: str) -> None:
    if not can_transition(current, to):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none (terminal)"
        raise ConflictError(
            f"a {current} job cannot become {to} (allowed: {allowed})",
            code="INVALID_TRANSITION",
            details={"from": current, "to": to},
        )


def transition(job: Job, to: str) -> str:
    """Move `job` to `to` or raise ConflictError(INVALID_TRANSITION); returns the old status.

    The job must belong to a session: the change is announced on the bus after commit.
    """
    session: Session | None = object_session(job)
    if session is None:
        raise InternalError("transition() needs a job attached to a session")
    previous = job.status
    check_transition(previous, to)
    job.status = to
    events.announce(session, "job.status", job_id=job.id, status=to, previous=previous)
    return previous
