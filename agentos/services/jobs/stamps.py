"""The job deltas' stamp: a value that changes with every job write a list or a kept total
depends on, once it commits (agentos/db/models/rollups.py says which writes add a row).

The list anchors (`anchors`) and the kept totals (`counts`) read it with what they keep and
again before each use: while it is unchanged, what they kept is still exact.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Session

from agentos.db.models import JobProgressMark, JobStatusDelta

Stamp = tuple[int, ...]
STAMP_ROWS = 10_000


def stamp(session: Session, *, progress: bool = False) -> Stamp | None:
    """A value of the job deltas that changes with every job created, deleted or moved to
    another status (or finish hour), or changed in a column a list is ordered or filtered
    by, once that write commits, however it was made: the triggers add a delta row in the
    same transaction. With `progress`, it also changes with every change of a job's update
    time, progress, attempts or stage (their marks, migration 0019). Per table it is (the
    id sequence's last value, the newest id, the rows): a new row takes a new id; a
    transaction that took its ids before and commits after adds rows, or, with a compaction
    in between, leaves another newest id. SQLite has no sequence; its writers take turns, so
    ids follow commits, and an emptied table never gives one out again
    (`rollups._clear_sqlite_deltas`). None when more than `STAMP_ROWS` rows wait for
    compaction: counting them would cost more than it saves."""
    found: Stamp = ()
    for table in (JobStatusDelta, JobProgressMark) if progress else (JobStatusDelta,):
        part = _table_stamp(session, table)
        if part is None:
            return None
        found += part
    return found


def _table_stamp(session: Session, table: type[JobStatusDelta | JobProgressMark]) -> Stamp | None:
    newest = select(table.id).order_by(table.id.desc()).limit(STAMP_ROWS + 1).subquery()
    issued: ColumnElement[int] = literal(0)
    if session.get_bind().dialect.name == "postgresql":
        issued = func.coalesce(
            func.pg_sequence_last_value(func.pg_get_serial_sequence(table.__tablename__, "id")),
            0,
        )
    query = select(issued, func.max(newest.c.id), func.count()).select_from(newest)
    last, top, rows = session.execute(query).one()
    return None if rows > STAMP_ROWS else (int(last), int(top or 0), int(rows))
