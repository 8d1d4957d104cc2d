"""The progress marks: how the lists ordered by what the pipeline moves keep their anchors.

A running stage changes its job's progress and update time every half second. Each change
adds a mark (migration 0019); on PostgreSQL the mark names the job, its transaction and the
four values before the change (0021). A list's anchors taken in a snapshot then stay
exact under running jobs: the marks that snapshot does not see name every job moved since,
and the first such mark of a job holds where it was in that snapshot (a row's updates take
turns on its lock, so their marks follow one another). An anchor's rows, counted then,
become its rows now by adding the jobs moved to it or before it and taking away those
moved from there (`shift`), in the statement that reads the page.

The marks a correction may need are kept `KEPT_S` (longer than any anchors are used):
compaction drops only marks seen by a snapshot it took that long ago (`fold`).
SQLite's marks carry only their id; its lists retire their anchors at each mark.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    ScalarSelect,
    Text,
    and_,
    case,
    cast,
    func,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse
from sqlalchemy.types import UserDefinedType

from agentos.db.keyset import AnySelect, Keyset
from agentos.db.models import Job, JobProgressMark
from agentos.services.runtime import RUNTIME_KEY, component_of

KEPT_S = 180.0  # three times anchors.MAX_AGE_S: room for the clocks of several processes
_MARKS = JobProgressMark.__table__
_JOBS = Job.__table__
# The job columns a mark holds the old value of (and the id, the mark's `job_id`).
_OLD = {
    "id": _MARKS.c.job_id,
    "updated_at": _MARKS.c.old_updated_at,
    "progress": _MARKS.c.old_progress,
    "attempts": _MARKS.c.old_attempts,
    "current_stage": _MARKS.c.old_current_stage,
}


class PgSnapshot(UserDefinedType[str]):
    """PostgreSQL's `pg_snapshot`, handed over as its text form."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "pg_snapshot"


def correct(session: Session | Connection) -> bool:
    """Whether this database's marks can correct anchors (PostgreSQL's do)."""
    bind = session.get_bind() if isinstance(session, Session) else session
    return bool(bind.dialect.name == "postgresql")


def snapshot() -> ColumnElement[str]:
    """The snapshot of the statement this column is read in, as text."""
    return cast(func.pg_current_snapshot(), Text)


def shift(order: Keyset, stmt: AnySelect, values: Sequence[Any], seen: str) -> ScalarSelect[int]:
    """How many more rows of `stmt` (a job list) are at or before `values` in `order` now
    than in the snapshot `seen` (text), counting only jobs the progress marks say moved:
    right while no job was created, deleted or changed in a column the list is filtered by
    since `seen` (the job deltas' stamp is unchanged), and `order` is by the id and the
    columns the marks hold."""
    given = cast(seen, PgSnapshot())
    was = (
        select(*(column.label(name) for name, column in _OLD.items()))
        .where(
            _MARKS.c.xact >= func.pg_snapshot_xmin(given),  # older ones it sees (an index range)
            ~func.pg_visible_in_snapshot(_MARKS.c.xact, given, type_=Boolean),
        )
        .ext(distinct_on(_MARKS.c.job_id))
        .order_by(_MARKS.c.job_id, _MARKS.c.id)
        .subquery("was")
    )
    after_now = and_(*order.branches(values)[0])

    def then(element: Any, **_kw: Any) -> Any:
        if isinstance(element, Column) and element.table is _JOBS:
            return was.c[element.name]  # a KeyError: an order by a column marks do not hold
        return None

    after_then: ColumnElement[bool] = replacement_traverse(after_now, {}, then)
    moved = case((after_now, 0), else_=1) - case((after_then, 0), else_=1)
    query = select(func.coalesce(func.sum(moved), 0)).select_from(was)
    query = query.join(_JOBS, _JOBS.c.id == was.c.id)
    if stmt.whereclause is not None:
        query = query.where(stmt.whereclause)
    return query.scalar_subquery()


class _Horizons:
    """Snapshots this process's compactions took, oldest first: (time.monotonic(), text)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken: deque[tuple[float, str]] = deque()

    def add_and_pass(self, now: float, seen: str) -> str | None:
        """Keep `seen`; the newest snapshot taken at least `KEPT_S` ago, if any (older ones
        are dropped: a later horizon covers them)."""
        with self.lock:
            self.taken.append((now, seen))
            passed = None
            while self.taken and now - self.taken[0][0] >= KEPT_S:
                passed = self.taken.popleft()[1]
            return passed


def fold(session: Session | Connection) -> int:
    """Drop the marks no correction can need any more; how many. On PostgreSQL those a
    snapshot this process took at least `KEPT_S` ago saw (and any from before 0021; none
    outside a runtime's session, which has no past snapshots); on SQLite every committed
    one but the newest (an emptied table would give its ids out again, and the stamp
    could come back to a value it had)."""
    if not correct(session):
        dropped = session.execute(
            sql_text(
                "DELETE FROM job_progress_marks WHERE id < (SELECT max(id) FROM job_progress_marks)"
            )
        )
        return int(dropped.rowcount or 0)  # type: ignore[attr-defined]
    if not isinstance(session, Session) or RUNTIME_KEY not in session.info:
        return 0
    horizons = component_of(session, _Horizons, lambda _runtime: _Horizons())
    passed = horizons.add_and_pass(time.monotonic(), session.execute(select(snapshot())).one()[0])
    if passed is None:
        return 0
    dropped = session.execute(
        sql_text(
            "DELETE FROM job_progress_marks WHERE xact IS NULL "
            "OR pg_visible_in_snapshot(xact, CAST(:passed AS pg_snapshot))"
        ),
        {"passed": passed},
    )
    return int(dropped.rowcount or 0)  # type: ignore[attr-defined]
