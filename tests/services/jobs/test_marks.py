"""Lists ordered by what the pipeline moves keep their anchors on PostgreSQL: each page after
them is corrected for the jobs the progress marks say moved since (services/jobs/marks.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from agentos.db import keyset
from agentos.schemas.jobs import JobFilters
from agentos.services.jobs import anchors, marks
from agentos.services.runtime import Runtime
from tests.services.jobs.test_anchors import Pages, _anchored_pages, _pages, _seed

# Each a transaction; together they move jobs across anchors both ways, a job twice, many
# jobs at once, and back.
MOVES = [
    "UPDATE jobs SET progress = 0.99, updated_at = now() + interval '1 hour', attempts = 9, "
    "current_stage = 'publish' WHERE id IN (SELECT id FROM jobs ORDER BY progress, id LIMIT 5)",
    "UPDATE jobs SET progress = 0.01, updated_at = now() - interval '1 day', attempts = 0, "
    "current_stage = NULL WHERE id IN (SELECT id FROM jobs ORDER BY progress DESC, id LIMIT 3)",
    "UPDATE jobs SET progress = 0.5, attempts = attempts + 1 WHERE title LIKE 'A-job-%'",
    "UPDATE jobs SET progress = 1 - progress, updated_at = updated_at - interval '1 minute', "
    "current_stage = 'scenes'",
]


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
    ],
)
def test_pages_after_corrected_anchors_follow_every_move(
    runtime: Runtime, small_steps: list[keyset.Leading | None], who: str, order: dict[str, object]
) -> None:
    operator, owner = _seed(runtime)
    actor = operator if who == "staff" else owner
    filters = JobFilters.model_validate(order)
    _anchored_pages(runtime, actor, filters, small_steps)
    book = runtime.component(anchors._Book, anchors._Book)
    taken = next(iter(book.lists.values()))
    assert taken.seen is not None
    for move in MOVES:
        with runtime.session() as session:
            session.execute(text(move))
        small_steps.clear()
        assert _pages(runtime, actor, filters) == _from_the_front(runtime, actor, filters), move
        assert any(answer is not None and answer.live is not None for answer in small_steps)
        assert next(iter(book.lists.values())) is taken  # the same anchors, corrected


@on_postgresql
def test_a_move_not_yet_committed_is_not_counted_until_it_is(
    runtime: Runtime, small_steps: list[keyset.Leading | None]
) -> None:
    operator, _ = _seed(runtime)
    filters = JobFilters.model_validate({"sort": "progress", "order": "asc"})
    before = _anchored_pages(runtime, operator, filters, small_steps)
    with runtime.engine.connect() as writer:
        writer.execute(text(MOVES[0]))  # its marks exist, uncommitted
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
