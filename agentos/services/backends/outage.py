"""A Redis outage, seen the same way by every store: `UnavailableError` with the concern's
code, raised about a second after Redis stops answering (short timeouts, one retry)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentos.errors import UnavailableError


@contextmanager
def guarded(code: str, what: str) -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise UnavailableError(f"Redis is unavailable ({what}): {exc}", code=code) from exc


_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def glob_escape(text: str) -> str:
    """`text` matched literally in a Redis glob (SCAN MATCH)."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)
