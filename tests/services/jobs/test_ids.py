"""Short job ids: a unique prefix stands for the job in services, actions and the history
filter; an ambiguous or unknown one says so."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from agentos.db.models import Job
from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.common import PageParams
from agentos.schemas.jobs import JobFilters
from agentos.services import jobs
from agentos.services.actions import pipeline
from agentos.services.context import Actor
from tests.support.jobs import make_actor

PAIR = (
    uuid.UUID("be1ce8cf-0000-4000-8000-000000000001"),
    uuid.UUID("be1ce8cf-9999-4000-8000-000000000002"),
)
LONE = uuid.UUID("0a1b2c3d-4e5f-4000-8000-000000000003")


def _add(session: Session, owner: Actor) -> None:
    for job_id in (*PAIR, LONE):
        session.add(Job(id=job_id, title=f"job {job_id}", owner_id=owner.id, status="queued"))
    session.flush()


def test_a_unique_prefix_resolves_and_an_ambiguous_one_lists_the_matches(
    session: Session, operator: Actor
) -> None:
    _add(session, make_actor(session))
    assert jobs.resolve_id(session, "0a1b2c3d", actor=operator) == LONE
    assert jobs.resolve_id(session, "0A1B-2C3D-4E", actor=operator) == LONE
    assert jobs.resolve_id(session, str(LONE), actor=operator) == LONE
    assert jobs.resolve_id(session, "be1ce8cf-9", actor=operator) == PAIR[1]
    with pytest.raises(InvalidError, match="several job ids") as ambiguous:
        jobs.resolve_id(session, "be1ce8cf", actor=operator)
    assert ambiguous.value.code == "AMBIGUOUS_ID"
    assert set(ambiguous.value.details["matches"]) == {str(job_id) for job_id in PAIR}
    with pytest.raises(NotFoundError):
        jobs.resolve_id(session, "ffff0000", actor=operator)
    with pytest.raises(InvalidError, match="not a job id"):
        jobs.resolve_id(session, "abc", actor=operator)
    with pytest.raises(InvalidError, match="not a job id"):
        jobs.resolve_id(session, "zzzzzzzz", actor=operator)


def test_another_users_job_is_not_found_by_its_prefix(session: Session) -> None:
    _add(session, make_actor(session))
    stranger = make_actor(session)
    with pytest.raises(NotFoundError):
        jobs.resolve_id(session, "0a1b2c3d", actor=stranger)


def test_the_history_filter_and_the_actions_take_prefixes(
    session: Session, operator: Actor
) -> None:
    _add(session, make_actor(session))
    page = jobs.find(
        session, actor=operator, filters=JobFilters(id_prefix="be1ce8cf"), page=PageParams()
    )
    assert {job.id for job in page.data} == set(PAIR)
    assert page.pagination.total == 2
    cli_operator = Actor(name="op", role="operator", source="cli")
    response = pipeline.execute(
        session, actor=cli_operator, action="job.cancel", payload={"job_id": "0a1b2c3d"}
    )
    assert response.result["id"] == str(LONE)
    assert response.result["status"] == "cancelled"
