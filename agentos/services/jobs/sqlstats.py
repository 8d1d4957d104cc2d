"""Portable SQL for the statistics: durations, hour buckets, percentiles.

Aggregates run in the database on both engines; SQLite has no percentile_cont, so it gets
the same linear interpolation built from window functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Select, case, cast, func, select
from sqlalchemy.orm import Session


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    if dialect(session) == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def hour_bucket(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC hour `column` falls in, one expression for SELECT and GROUP BY on either
    engine (`date_trunc` on PostgreSQL, `strftime` on SQLite); read it with `as_utc_hour`."""
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
    found = percentiles(
        session,
        value=value,
        where=where,
        fractions=(fraction,),
        groups=() if group is None else (group,),
    )
    return {
        (key[0] if group is not None else None): values[0]
        for key, values in found.items()
        if values[0] is not None
    }


def percentiles(
    session: Session,
    *,
    value: Any,
    where: list[ColumnElement[bool]],
    fractions: tuple[float, ...],
    groups: tuple[Any, ...] = (),
) -> dict[tuple[Any, ...], tuple[float | None, ...]]:
    """percentile_cont of `value` at each of `fractions`, per combination of `groups` (the
    key is the tuple of their values; () for one overall row), exact over every row: one
    query, sorted once per group on SQLite, ordered-set aggregates on PostgreSQL."""
    if dialect(session) == "postgresql":
        stmt: Select[Any] = select(
            *groups, *(func.percentile_cont(f).within_group(value) for f in fractions)
        ).where(*where, value.is_not(None))
        if groups:
            stmt = stmt.group_by(*groups)
    else:
        stmt = _interpolated(value, where, fractions, groups)
    width = len(groups)
    return {
        tuple(row[:width]): tuple(None if v is None else float(v) for v in row[width:])
        for row in session.execute(stmt)
    }


def _interpolated(
    value: Any,
    where: list[ColumnElement[bool]],
    fractions: tuple[float, ...],
    groups: tuple[Any, ...],
) -> Select[Any]:
    """SQLite: rank the values per group, then weigh the two around each fraction's position
    (the same linear interpolation as percentile_cont)."""
    partition = list(groups) or None
    ranked = (
        select(
            *(column.label(f"g{index}") for index, column in enumerate(groups)),
            value.label("v"),
            (func.row_number().over(partition_by=partition, order_by=value) - 1).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(*where, value.is_not(None))
        .subquery()
    )
    keys = [ranked.c[f"g{index}"] for index in range(len(groups))]
    sums = []
    for fraction in fractions:
        position = fraction * (ranked.c.n - 1)
        low = cast(position, Integer)
        share = position - low
        weight = case((ranked.c.rn == low, 1 - share), (ranked.c.rn == low + 1, share), else_=0)
        sums.append(func.sum(ranked.c.v * weight))
    stmt = select(*keys, *sums)
    return stmt.group_by(*keys) if keys else stmt
