"""Keyset (cursor) pagination: a page starts after the last row of the previous one.

`OFFSET n` reads and throws away n rows; a keyset page seeks in the index to "after these
sort values" and reads one page, at any depth. Rows inserted or deleted meanwhile never
shift a walk (no row twice, none skipped among those that existed throughout).

A `Keyset` is a list's order: sort keys ending with a unique one (the id). Its cursors are
opaque, URL-safe tokens holding the sort values of a page's edge row, the walk's position
(for `page`) and a fingerprint of the list they were made for: a cursor from another list,
order or filter, or one not made by us, is refused (422 BAD_CURSOR). A cursor is not
secret and needs no signature: it only says where to start, the caller's visibility rules
still choose the rows.

Keys in one direction seek with one row comparison, `(a, id) < (:a, :id)`, which both
databases answer from an index on (a, id). Mixed directions (dispatch order: priority DESC,
then oldest first) become branches (equal on the keys before, past the value on one), each
an index range with its own LIMIT, merged by the outer ORDER BY.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    func,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import QueryableAttribute, Session

from agentos.db.keyset_values import DECODERS, LIMIT, KeyKind, coerce, encode_value
from agentos.errors import InvalidError
from agentos.schemas.common import CURSOR_MAX_LENGTH, PageParams, Pagination

CURSOR_VERSION = 1
# Below this many rows a page asked by number reads them with a plain OFFSET; deeper, it
# reads the ids alone first (from the index) and then just its rows. Cursors never need either.
DEFERRED_OFFSET = 1_000
# Any SELECT, whatever its columns.
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Leading:
    """A WHERE clause that leaves out exactly the first `skipped` rows of a list (and no
    other), so that a page by number past them skips only the rest by OFFSET."""

    clause: ColumnElement[bool]
    skipped: int
    # Counted again by the page's own statement, when rows may move meanwhile (`skipped`
    # is then its count a moment before: which anchor to start from).
    live: ColumnElement[int] | None = None


# A sort key: a mapped column (Job.created_at) or an SQL expression (lower(title)).
SortExpr = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class SortKey:
    expr: SortExpr
    kind: KeyKind
    descending: bool = False


@dataclass(frozen=True)
class Cursor:
    values: tuple[Any, ...]
    position: int  # rows before the page this cursor opens (its `page` = position // per_page + 1)
    backward: bool  # True: the page before `values`, else the page after them


def ranked(column: SortExpr, values: Sequence[str], *, other: int) -> ColumnElement[int]:
    """`values`' position in the list (`other` for anything else or NULL), with the values
    written into the SQL as literals: an index on this expression is used only when the
    query says exactly the same, which bound parameters would not."""
    whens: dict[Any, Any] = {
        literal_column("'" + value.replace("'", "''") + "'"): literal_column(str(rank))
        for rank, value in enumerate(values)
    }
    return case(whens, value=column, else_=literal_column(str(other)))


class Keyset:
    """The order of one list and the cursors through it."""

    def __init__(self, keys: Sequence[SortKey], *, scope: str) -> None:
        self.keys = tuple(keys)
        # Which list, order and filter a cursor belongs to (never the actor: a token handed
        # to someone else still only shows what they may see).
        self.fingerprint = hashlib.sha256(scope.encode()).hexdigest()[:12]

    # -- cursors -------------------------------------------------------------------------

    def encode(self, values: Sequence[Any], *, position: int, backward: bool = False) -> str:
        payload = {
            "v": CURSOR_VERSION,
            "f": self.fingerprint,
            "k": [encode_value(value) for value in values],
            "p": position,
            "b": backward,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str) -> Cursor:
        """The cursor `token` stands for; BAD_CURSOR unless we made it for this list."""
        try:
            if len(token) > CURSOR_MAX_LENGTH:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            if payload["v"] != CURSOR_VERSION or not isinstance(payload["k"], list):
                raise ValueError("unknown form")
            if len(payload["k"]) != len(self.keys):
                raise ValueError("wrong number of values")
            values = tuple(
                DECODERS[key.kind](value)
                for key, value in zip(self.keys, payload["k"], strict=True)
            )
            position, backward = payload["p"], payload["b"]
            if type(position) is not int or not 0 <= position < LIMIT or type(backward) is not bool:
                raise ValueError("bad position")
            fingerprint = payload["f"]
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
            raise InvalidError(
                "cursor: not a cursor this list returned", code="BAD_CURSOR"
            ) from None
        if fingerprint != self.fingerprint:
            raise InvalidError(
                "cursor: made for another list, filter or order; start again without it",
                code="BAD_CURSOR",
            )
        return Cursor(values=values, position=position, backward=backward)

    # -- queries -------------------------------------------------------------------------

    def _descending(self, key: SortKey, backward: bool) -> bool:
        return key.descending != backward

    def order(self, *, backward: bool = False) -> list[ColumnElement[Any]]:
        return [
            key.expr.desc() if self._descending(key, backward) else key.expr.asc()
            for key in self.keys
        ]

    def labelled(self) -> list[ColumnElement[Any]]:
        """The key values as extra columns `_k0`, `_k1`...: a row's cursor is built from them."""
        return [key.expr.label(f"_k{index}") for index, key in enumerate(self.keys)]

    def values_of(self, row: Any) -> tuple[Any, ...]:
        return tuple(
            coerce(key.kind, getattr(row, f"_k{index}")) for index, key in enumerate(self.keys)
        )

    def branches(
        self, values: Sequence[Any], *, backward: bool = False
    ) -> list[list[ColumnElement[bool]]]:
        """The rows after `values` in this order, as branches that are each one index range:
        the last run of keys sorted the same way is one row comparison, each key before it
        its own branch (a row comparison spans keys of one direction only)."""
        tail = len(self.keys) - 1
        while tail > 0 and self.keys[tail - 1].descending == self.keys[tail].descending:
            tail -= 1
        runs = [[index] for index in range(tail)] + [list(range(tail, len(self.keys)))]
        result: list[list[ColumnElement[bool]]] = []
        equal: list[ColumnElement[bool]] = []
        for run in runs:
            exprs = tuple_(*(self.keys[index].expr for index in run))
            bound = tuple_(*(values[index] for index in run))
            first, value = self.keys[run[0]].expr, values[run[0]]
            less = self._descending(self.keys[run[0]], backward)
            seek = [exprs < bound, first <= value] if less else [exprs > bound, first >= value]
            # The row comparison is the seek; the same bound on its first key alone (implied)
            # is what PostgreSQL estimates well: without it, it guesses a third of the rows
            # match and may prefer reading them all and sorting them.
            result.append([*equal, *(seek if len(run) > 1 else seek[:1])])
            equal += [self.keys[index].expr == values[index] for index in run]
        return result

    def page(
        self, stmt: AnySelect, *, after: Sequence[Any] | None, backward: bool, limit: int
    ) -> AnySelect:
        """`stmt` (its filters, no order) as one page of `limit` rows after `after` (the
        first page when None), with the key columns added (see `labelled`)."""
        stmt = stmt.add_columns(*self.labelled())
        order = self.order(backward=backward)
        branches = self.branches(after, backward=backward) if after is not None else [[]]
        if len(branches) == 1:
            return stmt.where(*branches[0]).order_by(*order).limit(limit)
        # Each branch is an index range with its own limit; SQLite needs each one wrapped.
        parts = [
            select(stmt.where(*branch).order_by(*order).limit(limit).subquery())
            for branch in branches
        ]
        merged = union_all(*parts).subquery()
        outer = [
            merged.c[f"_k{index}"].desc()
            if self._descending(key, backward)
            else merged.c[f"_k{index}"].asc()
            for index, key in enumerate(self.keys)
        ]
        return select(merged).order_by(*outer).limit(limit)


@dataclass(frozen=True)
class Window:
    """One page read through a keyset: its rows (with their `_k` columns) and where it is."""

    rows: list[Any]
    position: int
    per_page: int
    has_next: bool
    next_cursor: str | None
    prev_cursor: str | None

    def pagination(self, *, total: int, total_counted_at: datetime | None = None) -> Pagination:
        return Pagination.of(
            page=self.position // self.per_page + 1,
            per_page=self.per_page,
            total=total,
            total_counted_at=total_counted_at,
            has_next=self.has_next,
            next_cursor=self.next_cursor,
            prev_cursor=self.prev_cursor,
        )


# A list of several queries (an agent's steps and its events), each read from its own index.
Parts = Sequence[tuple[Keyset, AnySelect]]


def read(
    session: Session,
    keyset: Keyset,
    stmt: AnySelect,
    params: PageParams,
    *,
    parts: Parts = (),
    total: int | None = None,
    leading: Leading | None = None,
) -> Window:
    """The page `params` asks for: after (or before) its cursor, else page `params.page`.
    With `parts`, `stmt` (their UNION) only serves pages asked by number past the first.
    `total`: the exact number of rows `stmt` selects, if known; a page by number in the
    back half is then read from the far end (`_from_the_end`)."""
    per_page = params.per_page
    if params.cursor is None:
        if leading is not None and not parts and leading.skipped <= params.offset:
            narrowed = stmt.where(leading.clause)
            if leading.live is None:
                return _by_number(session, keyset, narrowed, params, skipped=leading.skipped)
            window = _after_live(session, keyset, narrowed, params, leading.live)
            if window is not None:
                return window
        if total is not None and not parts and params.offset > max(DEFERRED_OFFSET, total // 2):
            return _from_the_end(session, keyset, stmt, params, total)
        return _by_number(session, keyset, stmt, params, parts)
    cursor = keyset.decode(params.cursor)
    rows = _fetch(session, keyset, stmt, parts, cursor.values, cursor.backward, per_page + 1)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not cursor.backward:
        return _window(keyset, rows, cursor.position, per_page, has_next=more)
    if not more:  # back at the start: the first page as it is now (rows may have been added)
        return _by_number(session, keyset, stmt, PageParams(per_page=per_page), parts)
    rows.reverse()
    return _window(keyset, rows, max(cursor.position, per_page), per_page, has_next=True)


def _fetch(
    session: Session,
    keyset: Keyset,
    stmt: AnySelect,
    parts: Parts,
    after: Sequence[Any] | None,
    backward: bool,
    limit: int,
) -> list[Any]:
    if not parts:
        query = keyset.page(stmt, after=after, backward=backward, limit=limit)
        return list(session.execute(query))
    rows = [
        row
        for part, select_ in parts
        for row in session.execute(part.page(select_, after=after, backward=backward, limit=limit))
    ]
    rows.sort(key=keyset.values_of, reverse=keyset._descending(keyset.keys[0], backward))
    return rows[:limit]


def _by_number(
    session: Session,
    keyset: Keyset,
    stmt: AnySelect,
    params: PageParams,
    parts: Parts = (),
    *,
    skipped: int = 0,
) -> Window:
    position, per_page = params.offset, params.per_page
    offset = position - skipped  # the rows `stmt` still holds before the page
    if offset == 0:
        rows = _fetch(session, keyset, stmt, parts, None, False, per_page + 1)
        return _window(keyset, rows[:per_page], position, per_page, has_next=len(rows) > per_page)
    if offset < DEFERRED_OFFSET or parts:
        query = stmt.add_columns(*keyset.labelled()).order_by(*keyset.order())
        query = query.offset(offset).limit(per_page + 1)
    else:
        unique = keyset.keys[-1].expr
        ids = stmt.with_only_columns(unique).order_by(*keyset.order())
        ids = ids.offset(offset).limit(per_page + 1)
        query = stmt.add_columns(*keyset.labelled()).where(unique.in_(ids.scalar_subquery()))
        query = query.order_by(*keyset.order())
    rows = list(session.execute(query))
    return _window(keyset, rows[:per_page], position, per_page, has_next=len(rows) > per_page)


def _after_live(
    session: Session,
    keyset: Keyset,
    stmt: AnySelect,
    params: PageParams,
    live: ColumnElement[int],
) -> Window | None:
    """The page after rows counted in the same statement (one snapshot); None if more rows
    than the page's position moved in before it since they were last counted."""
    left_out = select(select(live.label("n")).cte("left_out").c.n).scalar_subquery()
    query = stmt.add_columns(*keyset.labelled(), left_out.label("_left_out"))
    query = query.order_by(*keyset.order()).limit(params.per_page + 1)
    rows = list(session.execute(query.offset(func.greatest(params.offset - left_out, 0))))
    if rows and rows[0]._left_out > params.offset:
        return None
    more = len(rows) > params.per_page
    return _window(keyset, rows[: params.per_page], params.offset, params.per_page, has_next=more)


def _from_the_end(
    session: Session, keyset: Keyset, stmt: AnySelect, params: PageParams, total: int
) -> Window:
    """A page in the back half of the list, skipping from the far end: page 25,000 of a
    million jobs skips 0 rows instead of 999,960 (the last page is as cheap as the first;
    the middle of the list stays the costliest page). Rows added or removed between the
    count and this read shift the page as they would shift a page read from the front."""
    offset, per_page = params.offset, params.per_page
    after = total - offset  # rows from this page's first to the end of the list
    if after <= 0:
        return _window(keyset, [], offset, per_page, has_next=False)
    take = min(per_page, after)
    unique = keyset.keys[-1].expr
    ids = stmt.with_only_columns(unique).order_by(*keyset.order(backward=True))
    ids = ids.offset(after - take).limit(take)
    query = stmt.add_columns(*keyset.labelled()).where(unique.in_(ids.scalar_subquery()))
    rows = list(session.execute(query.order_by(*keyset.order())))
    return _window(keyset, rows, offset, per_page, has_next=offset + per_page < total)


def _window(
    keyset: Keyset, rows: list[Any], position: int, per_page: int, *, has_next: bool
) -> Window:
    last_position = position + len(rows)
    next_cursor = (
        keyset.encode(keyset.values_of(rows[-1]), position=last_position)
        if has_next and rows
        else None
    )
    prev_cursor = (
        keyset.encode(
            keyset.values_of(rows[0]), position=max(0, position - per_page), backward=True
        )
        if position > 0 and rows
        else None
    )
    return Window(rows, position, per_page, has_next, next_cursor, prev_cursor)
