"""Job lists keep their anchors on PostgreSQL whatever is written: each page after them is
corrected for the jobs the marks say were written since (services/jobs/marks.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from agentos.db import keyset
from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.jobs import JobFilters
from agentos.schemas.seed import SeedOptions
from agentos.services.jobs import anchors, behind, marks, rollups
from agentos.services.runtime import Runtime
from agentos.services.seed import reset_and_seed
from tests.services.jobs.conftest import wait_for
from tests.services.jobs.test_anchors import Pages, _anchored_pages, _pages, _seed

# The owner of most of the seeded jobs (`_seed`'s user), in SQL.
OWNER = "(SELECT owner_id FROM jobs GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1)"
# Each a transaction; together they move jobs across anchors both ways, a job twice, create
# and delete jobs, change their status, title, owner and priority, then move every job.
WRITES = [
    "UPDATE jobs SET progress = 0.99, updated_at = now() + interval '1 hour', attempts = 9, "
    "current_stage = 'publish' WHERE id IN (SELECT id FROM jobs ORDER BY progress, id LIMIT 5)",
    "UPDATE jobs SET progress = 0.01, updated_at = now() - interval '1 day', attempts = 0, "
    "current_stage = NULL WHERE id IN (SELECT id FROM jobs ORDER BY progress DESC, id LIMIT 3)",
    "created",
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs ORDER BY title, id LIMIT 2)",
    "UPDATE jobs SET status = 'queued' WHERE id IN "
    "(SELECT id FROM jobs WHERE status = 'failed' ORDER BY id LIMIT 3)",
    "UPDATE jobs SET title = 'zz-job-1' WHERE id IN (SELECT id FROM jobs ORDER BY id LIMIT 2)",
    f"UPDATE jobs SET owner_id = {OWNER} WHERE id IN "
    f"(SELECT id FROM jobs WHERE owner_id <> {OWNER} ORDER BY id LIMIT 2)",
    f"UPDATE jobs SET owner_id = NULL WHERE id IN "
    f"(SELECT id FROM jobs WHERE owner_id = {OWNER} ORDER BY id DESC LIMIT 1)",
    "UPDATE jobs SET priority = 7 WHERE id IN (SELECT id FROM jobs ORDER BY id DESC LIMIT 2)",
    "UPDATE jobs SET progress = 0.5, attempts = attempts + 1 WHERE title LIKE 'A-job-%'",
    "UPDATE jobs SET progress = 1 - progress, updated_at = updated_at - interval '1 minute', "
    "current_stage = 'scenes', status = 'completed'",
]


def _write(runtime: Runtime, write: str) -> None:
    with runtime.session() as session:
        if write != "created":
            session.execute(text(write))
            return
        owner = session.execute(text(OWNER)).scalar_one()
        for title in ("0-first-job-1", "zz-job-1"):  # the start and the end of most lists
            session.add(Job(title=title, status="failed", owner_id=owner, created_at=utcnow()))


def _from_the_front(runtime: Runtime, actor: object, filters: JobFilters) -> Pages:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(anchors, "SORTS", frozenset())
        return _pages(runtime, actor, filters)  # type: ignore[arg-type]


# SQLite's marks hold no old values: its lists retire their anchors (test_anchors).
on_postgresql = pytest.mark.parametrize("settings", ["distributed"], indirect=True)


@on_postgresql
@pytest.mark.parametrize(
    ("who", "order"),
    [
        ("staff", {"sort": "progress", "order": "asc"}),
        ("staff", {"sort": "progress"}),
        ("staff", {"sort": "updated_at", "order": "asc"}),
        ("staff", {"sort": "attempts", "status": ["failed", "queued"]}),
        ("staff", {"sort": "current_stage", "search": "job-1"}),
        ("user", {"sort": "progress"}),
        ("staff", {"sort": "title", "order": "asc"}),
        ("staff", {"sort": "status", "status": ["failed", "queued", "processing"]}),
        ("staff", {"sort": "priority"}),
        ("staff", {"sort": "created_at", "search": "b-"}),
        ("staff", {"sort": "id", "search": "job"}),
        ("staff", {"sort": "id", "order": "asc"}),
        ("user", {"sort": "title", "order": "asc"}),
        ("user", {"sort": "created_at", "order": "asc", "status": ["failed"]}),
    ],
)
def test_pages_after_corrected_anchors_follow_every_write(
    runtime: Runtime, small_steps: list[keyset.Leading | None], who: str, order: dict[str, object]
) -> None:
    operator, owner = _seed(runtime)
    actor = operator if who == "staff" else owner
    filters = JobFilters.model_validate(order)
    _anchored_pages(runtime, actor, filters, small_steps)
    book = runtime.component(anchors._Book, anchors._Book)
    assert next(iter(book.lists.values())).seen is not None
    for write in WRITES:
        _write(runtime, write)
        small_steps.clear()
        assert _pages(runtime, actor, filters) == _from_the_front(runtime, actor, filters), write
        assert any(answer is not None and answer.live is not None for answer in small_steps)
    wait_for(lambda: not behind.busy())


@on_postgresql
def test_a_move_not_yet_committed_is_not_counted_until_it_is(
    runtime: Runtime, small_steps: list[keyset.Leading | None]
) -> None:
    operator, _ = _seed(runtime)
    filters = JobFilters.model_validate({"sort": "progress", "order": "asc"})
    before = _anchored_pages(runtime, operator, filters, small_steps)
    with runtime.engine.connect() as writer:
        writer.execute(text(WRITES[0]))  # its marks exist, uncommitted
        small_steps.clear()
        assert _pages(runtime, operator, filters) == before
        assert any(answer is not None and answer.live is not None for answer in small_steps)
        writer.commit()
    after = _pages(runtime, operator, filters)
    assert after != before
    assert after == _from_the_front(runtime, operator, filters)


def test_compaction_keeps_every_mark_an_anchor_may_still_need() -> None:
    """A mark goes once a snapshot at least KEPT_S old saw it: every anchor in use is
    younger (MAX_AGE_S), so it saw that mark too and needs it no more."""
    assert anchors.MAX_AGE_S < marks.KEPT_S
    horizons = marks._Horizons()
    assert horizons.add_and_pass(0.0, "first") is None
    assert horizons.add_and_pass(marks.KEPT_S - 1, "second") is None
    assert horizons.add_and_pass(marks.KEPT_S, "third") == "first"
    assert horizons.add_and_pass(3 * marks.KEPT_S, "fourth") == "third"
    assert [seen for _, seen in horizons.taken] == ["fourth"]


@on_postgresql
def test_a_wholesale_rebuild_retires_the_anchors(
    runtime: Runtime, small_steps: list[keyset.Leading | None]
) -> None:
    """A restore or a bulk load changes jobs where no trigger saw it; the rollups' rebuild
    that follows leaves one mark without a job, and anchors taken before it are retired
    (then taken again) rather than corrected."""
    operator, _ = _seed(runtime)
    filters = JobFilters.model_validate({"sort": "title", "order": "asc"})
    _anchored_pages(runtime, operator, filters, small_steps)
    book = runtime.component(anchors._Book, anchors._Book)
    before = next(iter(book.lists.values()))
    with runtime.session() as session:
        session.execute(text("ALTER TABLE jobs DISABLE TRIGGER USER"))  # as a restore loads
        session.execute(text("UPDATE jobs SET title = 'a' || title WHERE title LIKE 'b-%'"))
        session.execute(text("ALTER TABLE jobs ENABLE TRIGGER USER"))
        rollups.rebuild(session)
    small_steps.clear()
    assert _pages(runtime, operator, filters) == _from_the_front(runtime, operator, filters)
    assert small_steps[2] is None  # page 3, the first past a step: not after old anchors
    wait_for(lambda: next(iter(book.lists.values())) is not before)
    small_steps.clear()
    assert _pages(runtime, operator, filters) == _from_the_front(runtime, operator, filters)
    assert any(answer is not None for answer in small_steps)


@on_postgresql
@pytest.mark.parametrize("server_side", [False, True])
def test_a_seed_marks_no_job_and_retires_every_anchor(runtime: Runtime, server_side: bool) -> None:
    """A seed loads its jobs without a mark each (a million rows would wait three minutes
    for compaction) and ends with the rebuild's reset mark; the triggers are on again."""
    options = SeedOptions(jobs=300, events=0, seed=5, server_side_from=1 if server_side else None)
    reset_and_seed(runtime, options=options)
    with runtime.session() as session:
        left = session.execute(text("SELECT job_id, xact IS NOT NULL FROM job_progress_marks"))
        assert list(left) == [(None, True)]
        session.execute(
            text("UPDATE jobs SET title = 'x' WHERE id = (SELECT id FROM jobs ORDER BY id LIMIT 1)")
        )
        session.execute(
            text("DELETE FROM jobs WHERE id = (SELECT id FROM jobs ORDER BY id DESC LIMIT 1)")
        )
        session.add(Job(title="created", status="queued", created_at=utcnow()))
    with runtime.session() as session:
        marked = session.execute(text("SELECT count(*) FROM job_progress_marks")).scalar_one()
    assert marked == 1 + 3
