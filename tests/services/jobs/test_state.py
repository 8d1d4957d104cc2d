"""The job state machine: every legal move works, every other one is refused."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.orm import Session

from agentos.db.models import Job
from agentos.errors import ConflictError
from agentos.schemas.jobs import JOB_STATUSES
from agentos.services.jobs.state import TRANSITIONS, can_transition, transition
from agentos.services.runtime import Runtime

PAIRS = list(itertools.product(JOB_STATUSES, JOB_STATUSES))


def test_every_status_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(JOB_STATUSES)
    assert TRANSITIONS["completed"] == frozenset()


@pytest.mark.parametrize(("current", "to"), PAIRS)
def test_transition_matrix(embedded_runtime: Runtime, current: str, to: str) -> None:
    with embedded_runtime.session() as session:
        job = Job(title="t", status=current)
        session.add(job)
        session.flush()
        if can_transition(current, to):
            assert transition(job, to) == current
            assert job.status == to
        else:
            with pytest.raises(ConflictError) as error:
                transition(job, to)
            assert error.value.code == "INVALID_TRANSITION"
            assert job.status == current
        session.rollback()


def test_transition_is_announced_after_commit(settings: object, session: Session) -> None:
    from agentos.services.events import CHANGES_CHANNEL
    from agentos.services.runtime import backends_of

    subscription = backends_of(session).bus.subscribe(CHANGES_CHANNEL)
    try:
        job = Job(title="t", status="pending")
        session.add(job)
        session.flush()
        transition(job, "queued")
        assert subscription.get(timeout_s=0.3) is None  # not before the commit
        session.commit()
        event = subscription.get(timeout_s=3)
        while event is not None and event.payload.get("kind") != "job.status":
            event = subscription.get(timeout_s=3)
        assert event is not None
        assert event.payload["status"] == "queued"
        assert event.payload["previous"] == "pending"
        assert event.payload["job_id"] == str(job.id)
    finally:
        subscription.close()
