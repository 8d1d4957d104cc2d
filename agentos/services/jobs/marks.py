"""The job marks: how every job list keeps its anchors while jobs are written, on PostgreSQL.

A list's anchors (`anchors`) count the rows up to every 1,000th one of the list, in one
snapshot. Jobs then come, go and move: a running stage changes its job's progress every
half second, jobs finish, uploads create jobs. On PostgreSQL each such write adds a mark
naming the job, its transaction and the job's listed columns before the write (none for a
job just created; migrations 0019 and 0021). The marks the anchors' snapshot does not see
name every job written since, and a job's first such mark holds its row as that snapshot
saw it (a row's writes take turns on its lock, so their marks follow one another). An
anchor's rows counted then become its rows now by adding the jobs at or before it now and
taking away those that were there then (`shift`), in the statement that reads the page:
exact, whatever was written.

The marks a correction may need are kept `KEPT_S` (longer than any anchors are used):
compaction drops only marks seen by a snapshot it took that long ago (`fold`).
SQLite's marks carry only their id; its lists retire their anchors at each job write.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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

from agentos.db.keyset import Keyset
from agentos.db.models import Job, JobProgressMark
from agentos.services.runtime import RUNTIME_KEY, component_of

KEPT_S = 180.0  # three times anchors.MAX_AGE_S: room for the clocks of several processes
_MARKS = JobProgressMark.__table__
_JOBS = Job.__table__
# A mark's columns under the names of the job columns they hold the old value of.
_OLD = {
    "id": _MARKS.c.job_id,
    **{
        name: _MARKS.c[f"old_{name}"]
        for name in (
            "created_at",
            "status",
            "owner_id",
            "title",
            "priority",
            "updated_at",
            "progress",
            "attempts",
            "current_stage",
        )
    },
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


def shift(
    listed: ColumnElement[bool] | None,
    seen: str,
    up_to: tuple[Keyset, Sequence[Any]] | None = None,
) -> ScalarSelect[int]:
    """How many more jobs match `listed` (a list's filters; None: every job) now than in
    the snapshot `seen` (text), and with `up_to` (an order, sort values) only those at or
    before those values in that order: the jobs the marks say were written since, counted
    where they are now less where they were then."""
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

    def then(element: Any, **_kw: Any) -> Any:
        if isinstance(element, Column) and element.table is _JOBS:
            return was.c[element.name]  # a KeyError: a column marks do not hold
        return None

    counted: list[ColumnElement[bool]] = [] if listed is None else [listed]
    if up_to is not None:
        order, values = up_to
        counted.append(~and_(*order.branches(values)[0]))
    now = [_JOBS.c.id.is_not(None), *counted]  # not deleted since
    then_: list[ColumnElement[bool]] = [was.c.created_at.is_not(None)]  # not created since
    then_ += [replacement_traverse(clause, {}, then) for clause in counted]
    moved = case((and_(*now), 1), else_=0) - case((and_(*then_), 1), else_=0)
    query = select(func.coalesce(func.sum(moved), 0)).select_from(was)
    return query.outerjoin(_JOBS, _JOBS.c.id == was.c.id).scalar_subquery()


def reset_since(seen: str) -> ScalarSelect[bool]:
    """Whether the jobs were rebuilt wholesale since the snapshot `seen` (`reset`)."""
    given = cast(seen, PgSnapshot())
    return (
        select(_MARKS.c.id)
        .where(
            _MARKS.c.job_id.is_(None),
            _MARKS.c.xact >= func.pg_snapshot_xmin(given),
            ~func.pg_visible_in_snapshot(_MARKS.c.xact, given, type_=Boolean),
        )
        .exists()
        .select()
        .scalar_subquery()
    )


def reset(session: Session | Connection) -> None:
    """After the jobs changed wholesale where no trigger saw it (a restore, a bulk load
    whose marks nobody needs): on PostgreSQL every mark goes and one without a job takes
    their place, which retires every list's anchors taken before it; SQLite's `fold`."""
    if not correct(session):
        fold(session)
        return
    session.execute(sql_text("DELETE FROM job_progress_marks"))
    session.execute(sql_text("INSERT INTO job_progress_marks (xact) VALUES (pg_current_xact_id())"))


@contextmanager
def unmarked(connection: Connection) -> Iterator[None]:
    """Jobs created in bulk without a mark each (a seed of a million jobs), within the
    caller's transaction, which ends with `reset` (the rollups' rebuild): no anchor taken
    before it is corrected by them. A failure rolls the trigger's state back with the rest."""
    if not correct(connection):
        yield
        return
    connection.execute(sql_text("ALTER TABLE jobs DISABLE TRIGGER job_marked_created"))
    yield
    connection.execute(sql_text("ALTER TABLE jobs ENABLE TRIGGER job_marked_created"))


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
