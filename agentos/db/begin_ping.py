"""On PostgreSQL, a transaction's BEGIN can be the pool's pre-ping: one round trip, not two.

Every checkout of a pooled connection pings it first (`pool_pre_ping`: a dead connection is
replaced before anyone uses it), and psycopg then sends BEGIN on its own before the first
statement: two round trips before any work. `check_out_begun(session)` checks the session's
connection out with a ping that *is* that BEGIN, sent through libpq, so psycopg finds the
transaction open and sends no BEGIN of its own. A dead connection fails the BEGIN exactly
as it failed the ping (the pool replaces it and invalidates the others); a fresh connection
is not pinged, and psycopg begins as usual.

Only where asked, and only for the session's own first checkout: a connection that will be
switched to autocommit or another isolation level (a backup, VACUUM) cannot be in a
transaction already, so the rest of the process pings as before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

_BEGIN_ON_PING: ContextVar[bool] = ContextVar("agentos_begin_on_ping", default=False)


def install(engine: Engine) -> None:
    """Let this PostgreSQL engine's pre-ping begin the transaction when asked."""
    dialect = engine.dialect
    plain_ping: Callable[[Any], bool] = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        if _BEGIN_ON_PING.get():
            command = _begin_command(dbapi_connection)
            if command is not None:
                return _begin(dbapi_connection, command)
        return plain_ping(dbapi_connection)

    dialect.do_ping = do_ping  # type: ignore[method-assign]


def check_out_begun(session: Session) -> None:
    """Check out the session's connection now; on PostgreSQL its ping opens the transaction."""
    token = _BEGIN_ON_PING.set(True)
    try:
        session.connection()
    finally:
        _BEGIN_ON_PING.reset(token)


def _begin_command(dbapi_connection: Any) -> bytes | None:
    """What psycopg would send to begin (psycopg's `_get_tx_start_command`, from public
    attributes); None when it would not begin at all."""
    if dbapi_connection.autocommit:
        return None
    parts = [b"BEGIN"]
    level = dbapi_connection.isolation_level
    if level is not None:
        parts += [b"ISOLATION LEVEL", level.name.replace("_", " ").encode()]
    if dbapi_connection.read_only is not None:
        parts.append(b"READ ONLY" if dbapi_connection.read_only else b"READ WRITE")
    if dbapi_connection.deferrable is not None:
        parts.append(b"DEFERRABLE" if dbapi_connection.deferrable else b"NOT DEFERRABLE")
    return b" ".join(parts)


def _begin(dbapi_connection: Any, command: bytes) -> bool:
    import psycopg
    from psycopg import pq

    pgconn = dbapi_connection.pgconn
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return True  # already in a transaction: psycopg would not begin either
    result = pgconn.exec_(command)
    if result.status != pq.ExecStatus.COMMAND_OK:
        message = pgconn.error_message.decode("utf-8", "replace").strip()
        raise psycopg.OperationalError(message or f"{command.decode()} failed")
    return True
