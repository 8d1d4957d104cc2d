"""Keyset cursors (agentos/db/keyset.py): opaque, URL-safe, only ours, for this list only."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql

from agentos.db.keyset import Keyset, SortKey, ranked
from agentos.errors import InvalidError

table = Table("t", MetaData(), Column("id", String), Column("at", String), Column("n", Integer))
# Parameters are fixed so that every pytest-xdist worker collects the same tests.
FIXED_ID = "5f0c2a9e-3b1d-4c6e-9a7f-2d8b1e4c6a90"
NEWEST = (SortKey(table.c.at, "datetime", True), SortKey(table.c.id, "uuid", True))


def test_a_cursor_round_trips_url_safe_and_knows_its_list() -> None:
    keyset = Keyset(NEWEST, scope="jobs:newest")
    values = (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid.uuid4())
    token = keyset.encode(values, position=40, backward=True)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    cursor = keyset.decode(token)
    assert (cursor.values, cursor.position, cursor.backward) == (values, 40, True)
    with pytest.raises(InvalidError) as other:
        Keyset(NEWEST, scope="jobs:oldest").decode(token)
    assert other.value.code == "BAD_CURSOR"


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "%%%",
        "a" * 2000,
        _token([1, 2]),
        _token({"v": 2}),
        _token({"v": 1, "f": "", "k": "ab", "p": 0, "b": False}),
        _token({"v": 1, "f": "", "k": ["2026-01-01T00:00:00", FIXED_ID], "p": 0, "b": False}),
        _token({"v": 1, "f": "", "k": ["2026-01-01T00:00:00Z", "nope"], "p": 0, "b": False}),
        _token({"v": 1, "f": "", "k": ["2026-01-01T00:00:00Z", FIXED_ID], "p": -1, "b": False}),
        _token({"v": 1, "f": "", "k": ["2026-01-01T00:00:00Z", FIXED_ID], "p": 0, "b": 1}),
    ],
)  # fmt: skip
def test_anything_else_is_bad_cursor(token: str) -> None:
    with pytest.raises(InvalidError) as refused:
        Keyset(NEWEST, scope="jobs:newest").decode(token)
    assert refused.value.code == "BAD_CURSOR"


@pytest.mark.parametrize("value", [True, 2**63, float("nan"), "3"])
def test_numbers_are_numbers_a_column_can_hold(value: object) -> None:
    keyset = Keyset((SortKey(table.c.n, "int"), SortKey(table.c.id, "uuid")), scope="n")
    good = keyset.encode((1, uuid.uuid4()), position=0)
    payload = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    with pytest.raises(InvalidError):
        keyset.decode(_token({**payload, "k": [value, payload["k"][1]]}))


def test_one_direction_is_one_row_comparison_mixed_ones_are_branches() -> None:
    after = (datetime(2026, 1, 1, tzinfo=UTC), uuid.uuid4())
    assert len(Keyset(NEWEST, scope="a").branches(after)) == 1
    dispatch = Keyset(
        (
            SortKey(table.c.n, "int", True),
            SortKey(table.c.at, "datetime"),
            SortKey(table.c.id, "uuid"),
        ),
        scope="b",
    )
    branches = dispatch.branches((5, after[0], after[1]))
    assert len(branches) == 2  # n = 5 and (at, id) after; n below 5
    sql = str(dispatch.page(select(table), after=(5, *after), backward=False, limit=3))
    assert sql.count("LIMIT") == 3
    assert "UNION ALL" in sql


def test_ranked_writes_its_values_into_the_sql() -> None:
    rank = ranked(table.c.id, ("pending", "it's"), other=-1)
    sql = str(rank.compile(dialect=postgresql.dialect()))
    assert "WHEN 'pending' THEN 0" in sql
    assert "WHEN 'it''s' THEN 1" in sql
    assert "ELSE -1" in sql
