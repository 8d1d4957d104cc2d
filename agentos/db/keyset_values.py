"""Sort values in and out of cursors: each kind of key decoded strictly, encoded as JSON."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

KeyKind = Literal["datetime", "uuid", "int", "float", "str"]


def _datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive time")
    return parsed


def _strict(*kinds: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # bool is an int to Python, never a sort value here; numbers fit a 64-bit column.
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ValueError(f"not a {kinds[0].__name__}")
        if isinstance(value, int | float) and not (math.isfinite(value) and abs(value) < LIMIT):
            raise ValueError("out of range")
        return value

    return check


LIMIT = 2**63
DECODERS: dict[KeyKind, Callable[[Any], Any]] = {
    "datetime": _datetime,
    "uuid": lambda value: uuid.UUID(_strict(str)(value)),
    "int": _strict(int),
    "float": lambda value: float(_strict(float, int)(value)),
    "str": _strict(str),
}


def coerce(kind: KeyKind, value: Any) -> Any:
    """A key value as its type: a UNION on SQLite hands back times and ids as text."""
    if kind == "datetime" and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if kind == "uuid" and isinstance(value, str):
        return uuid.UUID(value)
    return value


def encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
