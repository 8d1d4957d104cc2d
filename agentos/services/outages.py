"""A dependency that stopped answering, told apart from a bug.

`as_unavailable(exc)` turns the ways a database or Redis fails to answer (refused or lost
connections, timeouts, a server shutting down), a full disk (ENOSPC, a quota) and a
database that was never migrated into `UnavailableError` with a stable code, so the
server answers 503 and the CLI exits 7 with one line instead of a traceback. Anything else is not an outage and stays what it is.
"""

from __future__ import annotations

import errno

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

from agentos.errors import AgentOSError, UnavailableError

NOT_MIGRATED_HINTS = ("no such table", "does not exist")
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def as_unavailable(exc: BaseException) -> UnavailableError | None:
    if isinstance(exc, UnavailableError):
        return exc
    if isinstance(exc, AgentOSError):
        return None
    if isinstance(exc, OperationalError | ProgrammingError) and _not_migrated(exc):
        return UnavailableError(
            "the database has no AgentOS schema yet: run `agentos db migrate` "
            "(`agentos serve` migrates on start)",
            code="DATABASE_NOT_MIGRATED",
        )
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return UnavailableError(
            f"the database is unavailable: {_first_line(exc)}", code="DATABASE_UNAVAILABLE"
        )
    if isinstance(exc, OSError) and exc.errno in STORAGE_FULL_ERRNOS:
        return UnavailableError(
            "no space left on the storage device; retry once space is freed",
            code="INSUFFICIENT_STORAGE",
        )
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return UnavailableError(
            f"Redis is unavailable: {_first_line(exc)}", code="REDIS_UNAVAILABLE"
        )
    return None


def _not_migrated(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(hint in text for hint in NOT_MIGRATED_HINTS) and (
        "table" in text or "relation" in text
    )


def _first_line(exc: BaseException) -> str:
    detail = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(detail).strip()
    return text.splitlines()[0][:200] if text else type(detail).__name__
