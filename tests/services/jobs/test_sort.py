"""Job lists ordered on the server by any listed field, either way, across pages."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from agentos.db import keyset
from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.common import PageParams
from agentos.schemas.jobs import JobFilters
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.jobs import rollups
from tests.support.jobs import make_actor

ROWS = (  # title, status, priority, stage
    ("b-clip", "failed", 5, "scenes"),
    ("A-clip", "queued", 9, "ingest"),
    ("c-clip", "completed", 1, None),
    ("d-clip", "processing", 3, "publish"),
)


def _add(session: Session) -> list[uuid.UUID]:
    owner, now, added = make_actor(session), utcnow(), []
    for index, (title, status, priority, stage) in enumerate(ROWS):
        job = Job(
            title=title,
            status=status,
            priority=priority,
            current_stage=stage,
            owner_id=owner.id,
            created_at=now - timedelta(minutes=index),
        )
        session.add(job)
        session.flush()
        added.append(job.id)
    return added


def _titles(session: Session, actor: Actor, per_page: int = 10, **order: str) -> list[str]:
    titles, page = [], 1
    while True:
        found = jobs.find(
            session,
            actor=actor,
            filters=JobFilters.model_validate(order),
            page=PageParams(page=page, per_page=per_page),
        )
        titles += [job.title for job in found.data]
        if not found.pagination.has_next:
            return titles
        page += 1


def test_every_field_sorts_both_ways_across_pages(session: Session, operator: Actor) -> None:
    _add(session)
    assert _titles(session, operator) == ["b-clip", "A-clip", "c-clip", "d-clip"]
    assert _titles(session, operator, sort="created_at", order="asc") == [
        "d-clip", "c-clip", "A-clip", "b-clip",
    ]  # fmt: skip
    assert _titles(session, operator, per_page=1, sort="priority") == [
        "A-clip", "b-clip", "d-clip", "c-clip",
    ]  # fmt: skip
    assert _titles(session, operator, sort="title", order="asc") == [
        "A-clip", "b-clip", "c-clip", "d-clip",
    ]  # fmt: skip
    # Statuses in their lifecycle order, stages in pipeline order (none first).
    assert _titles(session, operator, per_page=3, sort="status", order="asc") == [
        "A-clip", "d-clip", "c-clip", "b-clip",
    ]  # fmt: skip
    assert _titles(session, operator, sort="current_stage", order="asc") == [
        "c-clip", "A-clip", "b-clip", "d-clip",
    ]  # fmt: skip


def test_an_unknown_sort_is_refused() -> None:
    with pytest.raises(ValidationError):
        JobFilters.model_validate({"sort": "owner_password"})
    with pytest.raises(ValidationError):
        JobFilters.model_validate({"order": "sideways"})


def test_an_id_prefix_list_is_counted_not_read_from_the_cached_total(
    session: Session, operator: Actor
) -> None:
    added = _add(session)
    everything = jobs.find(session, actor=operator, filters=JobFilters(), page=PageParams())
    assert everything.pagination.total == len(ROWS)  # now cached for a moment
    prefix = str(added[0])[:8]
    one = jobs.find(
        session, actor=operator, filters=JobFilters(id_prefix=prefix), page=PageParams()
    )
    assert one.pagination.total == len(one.data) == 1


@pytest.mark.parametrize("order", [{}, {"sort": "title", "order": "asc"}, {"sort": "status"}])
def test_pages_in_the_back_half_read_from_the_far_end_are_the_same_pages(
    session: Session, operator: Actor, monkeypatch: pytest.MonkeyPatch, order: dict[str, str]
) -> None:
    """With the exact total known, a page by number past the middle skips rows from the
    far end; every page, and the one past the last, matches a read from the front."""
    owner, now = make_actor(session), utcnow()
    for index in range(23):
        session.add(
            Job(
                title=f"job-{index % 7}",
                status=("queued", "failed", "completed")[index % 3],
                owner_id=owner.id,
                created_at=now - timedelta(seconds=index % 5),
            )
        )
    session.flush()

    def pages() -> list[tuple[list[uuid.UUID], bool, bool]]:
        found = []
        for number in range(1, 7):
            page = jobs.find(
                session,
                actor=operator,
                filters=JobFilters.model_validate(order),
                page=PageParams(page=number, per_page=5),
            )
            ids = [job.id for job in page.data]
            found.append((ids, page.pagination.has_next, page.pagination.has_prev))
        return found

    monkeypatch.setattr(keyset, "DEFERRED_OFFSET", 10**9)  # every page from the front
    from_the_front = pages()
    monkeypatch.setattr(keyset, "DEFERRED_OFFSET", 1)  # pages 4-6 from the far end
    assert pages() == from_the_front
    assert [len(ids) for ids, _, _ in from_the_front] == [5, 5, 5, 5, 3, 0]


@pytest.mark.parametrize(
    "order",
    [
        {},
        {"order": "asc"},
        {"status": ["failed", "queued"]},
        {"status": ["completed"], "order": "asc"},
    ],
)
def test_pages_deep_in_a_list_by_creation_skip_whole_hours_and_are_the_same_pages(
    session: Session, operator: Actor, monkeypatch: pytest.MonkeyPatch, order: dict[str, object]
) -> None:
    """A page by number of every job by creation time leaves out the creation hours before
    its own (counted by the rollups) and skips only the rest: every page matches a read
    from the front, with jobs on the hour, several an hour, and equal creation times."""
    owner = make_actor(session)
    top = utcnow().replace(minute=0, second=0, microsecond=0)
    created = [
        top - timedelta(hours=(index * 7) % 17) + timedelta(minutes=15 * (index % 4))
        for index in range(60)
    ]
    created += created[:5]  # the same creation time twice: the id breaks the tie
    for index, moment in enumerate(created):
        status = ("queued", "failed", "completed")[index % 3]
        session.add(Job(title=f"job-{index}", status=status, owner_id=owner.id, created_at=moment))
    session.flush()
    filters = JobFilters.model_validate(order)

    def pages() -> list[tuple[list[uuid.UUID], bool, bool, int]]:
        found = []
        for number in range(1, 20):
            page = jobs.find(
                session, actor=operator, filters=filters, page=PageParams(page=number, per_page=4)
            )
            ids = [job.id for job in page.data]
            found.append(
                (ids, page.pagination.has_next, page.pagination.has_prev, page.pagination.page)
            )
        return found

    monkeypatch.setattr(keyset, "DEFERRED_OFFSET", 10**9)  # every page from the front
    from_the_front = pages()
    hours_found: list[object] = []
    hour_at = rollups.created_hour_at

    def spied(*args: object, **kwargs: object) -> object:
        answer = hour_at(*args, **kwargs)  # type: ignore[arg-type]
        hours_found.append(answer)
        return answer

    monkeypatch.setattr(rollups, "created_hour_at", spied)
    monkeypatch.setattr(keyset, "DEFERRED_OFFSET", 1)  # every page past the first by hours
    assert pages() == from_the_front
    assert sum(len(ids) for ids, _, _, _ in from_the_front) > 4 * 5
    assert any(answer is not None and answer[1] > 0 for answer in hours_found)

    # The cursors of a page read by hours walk on to the same next page.
    third = jobs.find(session, actor=operator, filters=filters, page=PageParams(page=3, per_page=4))
    assert third.pagination.next_cursor is not None
    after = jobs.find(
        session,
        actor=operator,
        filters=filters,
        page=PageParams(cursor=third.pagination.next_cursor, per_page=4),
    )
    assert [job.id for job in after.data] == from_the_front[3][0]
