"""Deep pages by number read after a list's anchors: the same pages, and never stale ones."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select, text, update

from agentos.db import keyset
from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.common import PageParams
from agentos.schemas.jobs import JobFilters
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.jobs import anchors, rollups, stamps
from agentos.services.runtime import Runtime
from tests.services.jobs.conftest import STEP, wait_for
from tests.support.jobs import make_actor

PER_PAGE = 4
Pages = list[tuple[list[uuid.UUID], bool, int]]


def _seed(runtime: Runtime) -> tuple[Actor, Actor]:
    """An operator, and a user who owns some of 70 jobs with repeated titles and times."""
    with runtime.session() as session:
        owner, other = make_actor(session), make_actor(session)
        now = utcnow()
        for index in range(70):
            session.add(
                Job(
                    title=f"{'Ab'[index % 2]}-job-{index % 9}",  # case and ties in the key
                    status=("queued", "failed", "completed", "processing")[index % 4],
                    owner_id=owner.id if index % 3 else other.id,
                    created_at=now - timedelta(minutes=index % 11),
                    updated_at=now - timedelta(seconds=index % 13),
                    progress=(index % 5) / 4,
                    attempts=index % 3,
                    current_stage=(None, "ingest", "scenes", "publish", "bogus")[index % 5],
                )
            )
    return Actor(name="op", role="operator", id=None), owner


def _pages(runtime: Runtime, actor: Actor, filters: JobFilters) -> Pages:
    found: Pages = []
    with runtime.read_session() as session:
        for number in range(1, 21):
            page = jobs.find(
                session, actor=actor, filters=filters, page=PageParams(page=number, per_page=4)
            )
            ids = [job.id for job in page.data]
            found.append((ids, page.pagination.has_next, page.pagination.page))
    return found


def _anchored_pages(
    runtime: Runtime, actor: Actor, filters: JobFilters, answers: list[keyset.Leading | None]
) -> Pages:
    """The pages once the anchors the first pass asked for have been taken."""
    _pages(runtime, actor, filters)
    wait_for(lambda: bool(runtime.component(anchors._Book, anchors._Book).lists))
    answers.clear()
    return _pages(runtime, actor, filters)


@pytest.mark.parametrize(
    ("who", "order"),
    [
        ("staff", {"sort": "title", "order": "asc"}),
        ("staff", {"sort": "title"}),
        ("staff", {"sort": "status", "status": ["failed", "queued", "processing"]}),
        ("staff", {"sort": "id", "search": "job"}),
        ("staff", {"sort": "priority", "order": "asc"}),
        ("staff", {"sort": "created_at", "search": "b-"}),
        ("staff", {"sort": "updated_at"}),
        ("staff", {"sort": "progress", "order": "asc"}),
        ("staff", {"sort": "attempts", "status": ["failed", "queued"]}),
        ("staff", {"sort": "current_stage"}),
        ("user", {"sort": "progress"}),
        ("user", {"sort": "title", "order": "asc"}),
        ("user", {"sort": "created_at", "order": "asc"}),
    ],
)
def test_pages_read_after_anchors_are_the_pages_read_from_the_front(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    small_steps: list[keyset.Leading | None],
    who: str,
    order: dict[str, object],
) -> None:
    operator, owner = _seed(runtime)
    actor = operator if who == "staff" else owner
    filters = JobFilters.model_validate(order)
    with monkeypatch.context() as patch:
        patch.setattr(anchors, "SORTS", frozenset())  # no anchors: every row skipped
        from_the_front = _pages(runtime, actor, filters)
    assert sum(len(ids) for ids, _, _ in from_the_front) > 3 * STEP
    assert _anchored_pages(runtime, actor, filters, small_steps) == from_the_front
    used = [answer.skipped for answer in small_steps if answer is not None]
    assert used
    assert max(used) >= 2 * STEP


# On PostgreSQL a job write corrects the anchors instead (test_marks).
on_sqlite = pytest.mark.parametrize("settings", ["embedded"], indirect=True)


@on_sqlite
def test_a_job_write_retires_the_anchors_until_they_are_taken_again(
    runtime: Runtime, small_steps: list[keyset.Leading | None]
) -> None:
    operator, owner = _seed(runtime)
    filters = JobFilters.model_validate({"sort": "title", "order": "asc"})
    _anchored_pages(runtime, operator, filters, small_steps)
    book = runtime.component(anchors._Book, anchors._Book)
    taken = next(iter(book.lists.values()))

    writes: list[Callable[[], None]] = [
        lambda: jobs_session_add(runtime, owner, "0-first"),  # sorts before every row
        lambda: raw_sql(runtime, "UPDATE jobs SET status = 'cancelled' WHERE title = 'A-job-1'"),
        lambda: raw_sql(runtime, "DELETE FROM jobs WHERE title = 'b-job-2'"),
        lambda: raw_sql(runtime, "UPDATE jobs SET title = 'zz-last' WHERE title = 'A-job-3'"),
    ]
    for write in writes:
        write()
        small_steps.clear()
        deep = _pages(runtime, operator, filters)  # read right after the write
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(anchors, "SORTS", frozenset())
            assert deep == _pages(runtime, operator, filters)
        assert small_steps
        assert small_steps[0] is None
        before = taken.taken_at
        wait_for(lambda: next(iter(book.lists.values())).taken_at > before)  # noqa: B023
        taken = next(iter(book.lists.values()))
        small_steps.clear()
        _pages(runtime, operator, filters)
        assert any(answer is not None for answer in small_steps)  # taken again, used again


def jobs_session_add(runtime: Runtime, owner: Actor, title: str) -> None:
    with runtime.session() as session:
        session.add(Job(title=title, status="queued", owner_id=owner.id, created_at=utcnow()))


def raw_sql(runtime: Runtime, statement: str) -> None:
    with runtime.session() as session:
        session.execute(text(statement))


@pytest.mark.parametrize("progress", [False, True])
def test_the_stamp_never_comes_back_to_an_earlier_value(runtime: Runtime, progress: bool) -> None:
    """Compaction and rebuilds empty the deltas and the progress marks; the stamp still
    never repeats (SQLite would hand out the ids of an emptied table again)."""
    operator, owner = _seed(runtime)
    seen: list[stamps.Stamp | None] = []

    def stamp() -> stamps.Stamp | None:
        with runtime.read_session() as session:
            return stamps.stamp(session, progress=progress)

    for round_ in range(3):
        seen.append(stamp())
        with runtime.session() as session:
            rollups.compact(session)
        seen.append(stamp())
        with runtime.session() as session:
            assert rollups.compact(session) == 0  # nothing new: nothing folded, no change
        assert stamp() == seen[-1]
        jobs_session_add(runtime, owner, f"round-{round_}")
        with runtime.session() as session:
            rollups.rebuild(session)
        seen.append(stamp())
        with runtime.session() as session:
            session.execute(
                update(Job).where(Job.title == f"round-{round_}").values(status="failed")
            )
        if progress:  # a mark alone, then folded away by the next round's compaction
            seen.append(stamp())
            raw_sql(runtime, f"UPDATE jobs SET progress = 0.{round_ + 1} WHERE title LIKE 'A-%'")
            seen.append(stamp())
    values = [value for value in seen if value is not None]
    assert len(values) == len(seen)
    changes = [
        value for index, value in enumerate(values) if index == 0 or value != values[index - 1]
    ]
    assert len(set(changes)) == len(changes)  # never back to an earlier stamp
    with runtime.read_session() as session:
        assert (
            jobs.find(
                session, actor=operator, filters=JobFilters(), page=PageParams(per_page=1)
            ).pagination.total
            == 70 + 3
        )  # the counts the rollups answer are still exact


@on_sqlite
def test_no_anchors_while_too_many_deltas_wait(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, small_steps: list[keyset.Leading | None]
) -> None:
    operator, _ = _seed(runtime)
    monkeypatch.setattr(stamps, "STAMP_ROWS", 2)
    with runtime.read_session() as session:
        assert stamps.stamp(session) is None
    filters = JobFilters.model_validate({"sort": "title"})
    _pages(runtime, operator, filters)
    time.sleep(0.2)
    assert not runtime.component(anchors._Book, anchors._Book).lists
    assert small_steps
    assert all(answer is None for answer in small_steps)


@pytest.mark.parametrize("how", ["service", "raw SQL"])
def test_a_new_priority_or_owner_retires_the_anchors(
    runtime: Runtime, small_steps: list[keyset.Leading | None], how: str
) -> None:
    """A priority moves a job in the list by priority, an owner moves it out of a user's
    list: both change the stamp (migration 0017), though no count changes."""
    operator, owner = _seed(runtime)
    with runtime.read_session() as session:
        before = stamps.stamp(session)
        mine = select(Job.id).where(Job.owner_id == owner.id, Job.status == "queued")
        some = session.scalars(mine.limit(2)).all()
    with runtime.session() as session:
        if how == "service":
            jobs.set_priority(session, job_id=some[0], priority=99, actor=operator)
        else:
            session.execute(update(Job).where(Job.id == some[0]).values(priority=99))
    with runtime.read_session() as session:
        after_priority = stamps.stamp(session)
    with runtime.session() as session:
        someone = make_actor(session)
        session.execute(update(Job).where(Job.id == some[1]).values(owner_id=someone.id))
    with runtime.read_session() as session:
        after_owner = stamps.stamp(session)
    assert len({before, after_priority, after_owner}) == 3


@pytest.mark.parametrize(
    "change",
    [
        "progress = 0.5",
        "attempts = attempts + 1",
        "current_stage = 'thumbs'",
        "updated_at = '2001-01-01 00:00:00.000000'",
    ],
)
def test_what_the_pipeline_changes_reaches_only_the_lists_ordered_by_it(
    runtime: Runtime, change: str
) -> None:
    """Progress, attempts, stage and update time order lists too, even in raw SQL that
    leaves the update time alone: they change the stamp read with their marks (migration
    0019) and not the one every other list and kept total reads; a column no list orders
    by changes neither."""
    _seed(runtime)

    def both() -> tuple[stamps.Stamp | None, stamps.Stamp | None]:
        with runtime.read_session() as session:
            return stamps.stamp(session), stamps.stamp(session, progress=True)

    plain, with_marks = both()
    with runtime.read_session() as session:
        job_id = session.scalars(select(Job.id).limit(1)).one()
    for assignment in ("error = 'x'", change):
        with runtime.session() as session:
            the_job = bindparam("id", job_id, type_=Job.__table__.c.id.type)
            session.execute(
                text(f"UPDATE jobs SET {assignment} WHERE id = :id").bindparams(the_job)
            )
        now_plain, now_with_marks = both()
        assert now_plain == plain
        assert (now_with_marks == with_marks) is (assignment == "error = 'x'")


def test_a_running_job_leaves_other_lists_their_anchors(
    runtime: Runtime, small_steps: list[keyset.Leading | None]
) -> None:
    """The pipeline's heartbeat (a progress update through the service) leaves a list by
    title its anchors and its pages; the list by progress reads its rows again, right: on
    PostgreSQL after its anchors, corrected for the job that moved (`marks`), on SQLite
    without them."""
    operator, _ = _seed(runtime)
    by_title = JobFilters.model_validate({"sort": "title"})
    by_progress = JobFilters.model_validate({"sort": "progress", "order": "asc"})
    _anchored_pages(runtime, operator, by_title, small_steps)
    _anchored_pages(runtime, operator, by_progress, small_steps)
    wait_for(lambda: len(runtime.component(anchors._Book, anchors._Book).lists) == 2)
    with runtime.session() as session:
        first = session.scalars(select(Job).order_by(Job.progress, Job.id).limit(1)).one()
        first.progress, first.updated_at = 0.99, utcnow()
    corrected = runtime.engine.dialect.name == "postgresql"
    for filters, anchored in ((by_title, True), (by_progress, corrected)):
        small_steps.clear()
        deep = _pages(runtime, operator, filters)
        assert (small_steps[2] is not None) is anchored  # page 3: the first past a step
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(anchors, "SORTS", frozenset())
            assert deep == _pages(runtime, operator, filters)


def test_a_list_whose_anchors_never_serve_a_page_waits_longer_for_new_ones() -> None:
    """Under running jobs a list by progress loses its anchors within a heartbeat: each take
    that served no page doubles the wait before the next (a pass over a million rows each
    time), up to MAX_RETAKE_GAP_S; one that served a page brings it back."""
    book, key, gap = anchors._Book(), "by-progress", anchors.RETAKE_GAP_S
    assert book.may_take(key, 0.0)  # the first take: nothing to judge yet
    book.put(key, anchors.Anchors(stamp=(1, 1, 1), taken_at=0.0, through=(), values=()))
    now, waits = 0.0, []
    for _ in range(6):
        wait = gap
        while not book.may_take(key, now + wait):
            wait += gap
        waits.append(wait)
        now += wait
    most = anchors.MAX_RETAKE_GAP_S
    assert waits == [gap, 2 * gap, 4 * gap, 8 * gap, most, most]
    book.serve(key)
    assert book.may_take(key, now + most)
    assert book.may_take(key, now + most + gap)  # served: back to 5 s
