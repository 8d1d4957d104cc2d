"""What the search commands (`logs`, `audit`) share: time options, JSON Lines output and
riding out the action rate limit while paging or following."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer

from agentos.cli._output import err_console, to_jsonable
from agentos.errors import InvalidError, RateLimitedError

T = TypeVar("T")

SECONDS_BY_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
MOMENT_HELP = "an age (30s, 15m, 2h, 7d, 1w) or a time (2024-05-01T12:00, UTC unless it says)"

SinceOption = Annotated[
    str | None, typer.Option("--since", help=f"From this moment on: {MOMENT_HELP}.")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help=f"Before this moment: {MOMENT_HELP}.")
]
AllOption = Annotated[
    bool, typer.Option("--all", help="Follow every page to the end (not only the first).")
]
JsonlOption = Annotated[
    bool, typer.Option("--jsonl", help="Print one JSON object per record (JSON Lines).")
]


def parse_moment(text: str | None, *, option: str) -> datetime | None:
    """`--since`/`--until` as an aware UTC time: an age back from now, `now`, or ISO 8601
    (naive times are UTC, like every time the platform stores and shows)."""
    if text is None:
        return None
    raw = text.strip().lower()
    if raw == "now":
        return datetime.now(UTC)
    age = _AGE.match(raw)
    if age:
        return datetime.now(UTC) - timedelta(seconds=float(age[1]) * SECONDS_BY_UNIT[age[2]])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidError(
            f"{option} {text!r}: expected {MOMENT_HELP}", code="INVALID_TIME"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_filters(since: str | None, until: str | None) -> dict[str, str | None]:
    """Both options parsed (before anything is sent) as the payloads' ISO strings."""
    start, end = parse_moment(since, option="--since"), parse_moment(until, option="--until")
    if start is not None and end is not None and start >= end:
        raise InvalidError("--since must be before --until", code="INVALID_TIME")
    return {
        "since": start.isoformat() if start else None,
        "until": end.isoformat() if end else None,
    }


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    """Payload fields the operator gave (absent ones keep the action's defaults)."""
    return {key: value for key, value in values.items() if value is not None}


def print_jsonl(items: Iterable[Any]) -> None:
    """One compact JSON object per line, flushed, so `| jq` or `| head` see it at once."""
    for item in items:
        sys.stdout.write(json.dumps(to_jsonable(item), default=str) + "\n")
    sys.stdout.flush()


def patiently(call: Callable[[], T], *, pause: Callable[[float], None] = time.sleep) -> T:
    """`call()`, waiting out the action rate limit instead of failing: paging (`--all`) and
    following (`tail`) are many calls of one read action, and the limit is per minute."""
    while True:
        try:
            return call()
        except RateLimitedError as limited:
            wait = max(limited.retry_after_s, 0.5)
            err_console.print(f"rate limited; waiting {wait:.1f} s", highlight=False)
            pause(wait)
