"""Pages by number deep in a job list, without skipping half a million rows one by one.

A page by number has to skip the rows before it, and both databases do that one index entry
at a time: page 25,000 of a million jobs by title skips 500,000 entries (about 40 ms). A
list's anchors are the sort values of every `STEP`th row (1,000: 1,000 values a million
rows), taken in one pass over its index (behind the first deep page asked for, `behind`).
A deep page then starts right after the nearest anchor before it (`keyset.Leading`) and
skips fewer than `STEP` rows.

On PostgreSQL anchors are taken with the pass's snapshot and every job write (created,
deleted, or changed in a column any list is ordered or filtered by: through AgentOS, a bulk
load or raw SQL) adds a mark naming the job and its row before (triggers, migrations 0019
and 0021), so each use corrects them for the jobs written since (`marks.shift`) instead of
retiring them. When a list has drifted a step's worth of rows from its anchors (or more),
it still uses them while new ones are taken behind it.

On SQLite anchors hold only while no job has been created, deleted or changed in a column a
list is ordered or filtered by since they were taken: every such write adds a row to the job
deltas in its own transaction (triggers, migrations 0003 and 0017), or for the columns the
pipeline moves at every step (update time, progress, attempts, stage) a progress mark
(0019), so the deltas' `stamps.stamp` is taken with the anchors and read again before each
use, with the marks for the lists in those orders only. Any difference, and the page skips
its rows as it did before while new anchors are taken behind it.

New anchors are taken at most once per `RETAKE_GAP_S` per list, so a steady stream of job
writes costs one pass per list every few seconds, not one per page; a list whose anchors
were retired before they served a page waits twice as long each time, up to
`MAX_RETAKE_GAP_S`. `MAX_AGE_S` bounds what a write with the triggers turned off could
leave behind.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, get_args

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, select
from sqlalchemy.orm import Session

from agentos.db import keyset
from agentos.db.keyset import AnySelect, Keyset
from agentos.schemas.jobs import JobSort
from agentos.services.jobs import behind, marks, stamps
from agentos.services.runtime import Runtime, component_of, runtime_of

# A page after an anchor then skips fewer rows than `keyset.DEFERRED_OFFSET`: a plain OFFSET,
# one index range. The ids-first form deeper pages use is a semi join, and after a row
# comparison on a key of few values (priority) PostgreSQL estimates one row and re-ran the
# skipping subquery for each of half a million rows (minutes).
STEP = keyset.DEFERRED_OFFSET
# A title search is read through another index and checks each row's title: anchors closer
# together, so a page reads at most a few thousand rows (a common word: 84,000 of a million
# match, one anchor per 100 of them).
SEARCH_STEP = 100
MAX_AGE_S = 60.0
RETAKE_GAP_S = 5.0
MAX_RETAKE_GAP_S = 60.0
KEPT_LISTS = 64
CORRECTED_TRIES = 3
# The sorts whose values change only with a write that adds a job delta or mark: all of them.
SORTS: frozenset[str] = frozenset(get_args(JobSort))
# The sorts by a column the pipeline moves at every step: their anchors read the marks too.
PROGRESS_SORTS = frozenset({"updated_at", "progress", "attempts", "current_stage"})


_Built = tuple[ColumnElement[bool], ScalarSelect[int], AnySelect]


@dataclass(frozen=True)
class Anchors:
    """Every `STEP`th row of one list: `through[i]` rows end with the row `values[i]`."""

    stamp: stamps.Stamp
    taken_at: float  # time.monotonic()
    through: tuple[int, ...]
    values: tuple[tuple[Any, ...], ...]
    # The snapshot they were taken in, when the progress marks correct them (`marks`).
    seen: str | None = None
    # Per anchor used: its clause, its correction and the statement that reads it first,
    # built once (the SQL of a correction takes longer to build than to run).
    built: dict[int, _Built] = field(default_factory=dict, compare=False, repr=False)

    def before(self, offset: int) -> tuple[int, tuple[Any, ...]] | None:
        """The last anchor with at most `offset` rows up to it: (those rows, its values)."""
        index = bisect.bisect_right(self.through, offset) - 1
        return None if index < 0 else (self.through[index], self.values[index])


class _Book:
    """The anchors this process holds, per list (the most recently used `KEPT_LISTS`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lists: OrderedDict[str, Anchors] = OrderedDict()
        self.taking: dict[str, float] = {}  # list -> when its last take started (monotonic)
        self.gaps: dict[str, float] = {}  # list -> the time it waits between takes
        self.served: set[str] = set()  # the lists whose anchors have served a page

    def serve(self, key: str) -> None:
        with self.lock:
            self.served.add(key)

    def get(self, key: str) -> Anchors | None:
        with self.lock:
            found = self.lists.get(key)
            if found is not None:
                self.lists.move_to_end(key)
            return found

    def put(self, key: str, anchors: Anchors) -> None:
        with self.lock:
            self.lists[key] = anchors
            self.lists.move_to_end(key)
            while len(self.lists) > KEPT_LISTS:
                oldest, _ = self.lists.popitem(last=False)
                self.taking.pop(oldest, None)
                self.gaps.pop(oldest, None)
                self.served.discard(oldest)

    def may_take(self, key: str, now: float) -> bool:
        """Whether to take the list's anchors now (its last ones, if any, are retired)."""
        with self.lock:
            gap = self.gaps.get(key, RETAKE_GAP_S)
            if key in self.taking and now - self.taking[key] < gap:
                return False
            if key in self.lists:  # retired: served a page, or a take that bought nothing
                gap = RETAKE_GAP_S if key in self.served else min(2 * gap, MAX_RETAKE_GAP_S)
            self.gaps[key] = gap
            self.served.discard(key)
            self.taking[key] = now
            return True


def _book(session: Session) -> _Book:
    return component_of(session, _Book, lambda _runtime: _Book())


def take(
    session: Session, order: Keyset, stmt: AnySelect, step: int = STEP, *, progress: bool = False
) -> Anchors | None:
    """The anchors of `stmt` (a list's SELECT with its filters) in `order`, one per `step`
    rows, in one pass. On PostgreSQL with the pass's snapshot (the marks correct them);
    on SQLite with the deltas' stamp (with the progress marks if `progress`), read first: a
    write that lands during the pass changes it, so those anchors are never used; None when
    the deltas cannot vouch for them."""
    corrected = marks.correct(session)
    stamp = () if corrected else stamps.stamp(session, progress=progress)
    if stamp is None:
        return None
    number = func.row_number().over(order_by=order.order()).label("_n")
    numbered = stmt.with_only_columns(*order.labelled(), number).subquery()
    query = select(numbered).where(numbered.c._n % step == 0).order_by("_n")
    if corrected:
        query = query.add_columns(marks.snapshot().label("_seen"))
    through: list[int] = []
    values: list[tuple[Any, ...]] = []
    seen: str | None = None
    for row in session.execute(query):
        through.append(int(row._n))
        values.append(order.values_of(row))
        seen = row._seen if corrected else None
    return Anchors(stamp, time.monotonic(), tuple(through), tuple(values), seen)


def leading(
    session: Session,
    order: Keyset,
    stmt: AnySelect,
    *,
    key: str,
    offset: int,
    step: int = STEP,
    progress: bool = False,
) -> keyset.Leading | None:
    """The rows before page `offset` of this list that its anchors let it leave out (None:
    no anchors that still hold; they are then taken behind this page). `key` names the
    list for the rows its reader may see (its order, filters and visibility); `progress`:
    it is in one of `PROGRESS_SORTS`."""
    if offset < step or len({sort_key.descending for sort_key in order.keys}) != 1:
        return None  # shallow, or an order of mixed directions (a UNION per page)
    book = _book(session)
    found = book.get(key)
    answer: keyset.Leading | None = None
    if found is not None and time.monotonic() - found.taken_at < MAX_AGE_S:
        if found.seen is not None:
            answer, drifted = _corrected(session, order, stmt, found, offset, step)
            if answer is not None:
                book.serve(key)
            if not drifted:
                return answer
        elif not marks.correct(session) and found.stamp == stamps.stamp(session, progress=progress):
            anchor = found.before(offset)
            if anchor is not None:
                book.serve(key)
                return keyset.Leading(and_(*order.branches(anchor[1])[0]), anchor[0])
            return None
    if book.may_take(key, time.monotonic()):
        _take_soon(runtime_of(session), book, order, stmt, key, step, progress)
    return answer


def _corrected(
    session: Session, order: Keyset, stmt: AnySelect, found: Anchors, offset: int, step: int
) -> tuple[keyset.Leading | None, bool]:
    """After the last anchor with at most `offset` rows up to it now that the jobs the
    marks name were written (`marks.shift`; the page's statement counts them again), trying
    at most `CORRECTED_TRIES` anchors; and whether the list has drifted from its anchors by
    a step's worth of rows or more (new ones are then taken behind the page: a correction
    reads every mark since the anchors, and the anchors then hold that many rows apart)."""
    assert found.seen is not None
    index = bisect.bisect_right(found.through, offset) - 1
    for _ in range(CORRECTED_TRIES):
        if index < 0:
            return None, False
        through = found.through[index]
        built = found.built.get(index)
        if built is None:
            values = found.values[index]
            shift = marks.shift(stmt.whereclause, found.seen, (order, values))
            first = select(shift, marks.reset_since(found.seen))
            built = found.built[index] = (and_(*order.branches(values)[0]), shift, first)
        clause, shift, first = built
        moved, reset = session.execute(first).one()
        if reset:  # the jobs were rebuilt wholesale: these anchors say nothing any more
            return None, True
        moved = int(moved)
        if through + moved <= offset:
            return keyset.Leading(clause, through + moved, live=through + shift), abs(moved) >= step
        index -= 1  # more rows came before this anchor than the page is past it
    return None, True


def _take_soon(
    runtime: Runtime,
    book: _Book,
    order: Keyset,
    stmt: AnySelect,
    key: str,
    step: int,
    progress: bool,
) -> None:
    def work(session: Session) -> None:
        anchors = take(session, order, stmt, step, progress=progress)
        if anchors is not None:
            book.put(key, anchors)

    behind.soon(runtime, f"anchors:{key}", work)
