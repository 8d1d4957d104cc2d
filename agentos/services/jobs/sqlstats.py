"""Portable SQL for the statistics: durations, hour buckets, percentiles.

Aggregates run in the database on both engines; SQLite has no percentile_cont, so it gets
the same linear interpolation built from window functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Select, case, cast, func, literal, select
from sqlalchemy.orm import Session


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    if dialect(session) == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def hour_bucket(session: Session, column: Any) -> ColumnElement[Any]:
    if dialect(session) == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.strftime("%Y-%m-%d %H:00:00", column)


def as_utc_hour(value: Any) -> datetime:
    """A bucket from `hour_bucket` as an aware UTC datetime (SQLite answers a string)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def percentile_by_group(
    session: Session,
    *,
    value: Any,
    where: list[ColumnElement[bool]],
    fraction: float,
    group: Any = None,
) -> dict[Any, float]:
    """percentile_cont(fraction) of `value` per `group` (or overall under key None)."""
    key: ColumnElement[Any] = group if group is not None else literal(None)
    if dialect(session) == "postgresql":
        stmt: Select[Any] = select(key, func.percentile_cont(fraction).within_group(value)).where(
            *where
        )
    else:
        partition = [group] if group is not None else None
        ranked = (
            select(
                key.label("g"),
                value.label("v"),
                (func.row_number().over(partition_by=partition, order_by=value) - 1).label("rn"),
                func.count().over(partition_by=partition).label("n"),
            )
            .where(*where, value.is_not(None))
            .subquery()
        )
        position = fraction * (ranked.c.n - 1)
        low = cast(position, Integer)
        share = position - low
        weight = case((ranked.c.rn == low, 1 - share), (ranked.c.rn == low + 1, share), else_=0)
        interpolated = select(ranked.c.g, func.sum(ranked.c.v * weight)).group_by(ranked.c.g)
        return {
            row[0]: float(row[1]) for row in session.execute(interpolated) if row[1] is not None
        }
    if group is not None:
        stmt = stmt.group_by(group)
    return {row[0]: float(row[1]) for row in session.execute(stmt) if row[1] is not None}
