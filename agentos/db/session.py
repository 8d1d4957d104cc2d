"""Engines and units of work. The boundary (request, task, CLI command) owns the transaction.

Engines are built, never cached here: `agentos.services.runtime.Runtime` builds one per
process (or test) and closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from agentos.db import begin_ping


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the server, workers and a local CLI share one file; the busy timeout makes
    # writers queue instead of failing; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # pysqlite's own BEGIN is off; `_begin_immediate` issues ours.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    # pysqlite's deferred BEGIN lets two writers both read and then collide on upgrade; an
    # immediate BEGIN serialises writers up front so conditional UPDATEs stay race-free.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def build_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 15}, **kwargs
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    begin_ping.install(engine)
    return engine


def build_read_engine(url: str) -> Engine:
    """Read-only sessions (the admin read model). On SQLite, deferred transactions that
    never take the write lock (the main engine begins IMMEDIATE) and refuse writes."""
    if not url.startswith("sqlite"):
        return build_engine(url)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def build_relaxed_engine(url: str) -> Engine:
    """PostgreSQL connections that commit without waiting for the WAL flush
    (`synchronous_commit = off` per connection, so no statement per transaction): only for
    runner bookkeeping, see `services.pipeline.claims.relaxed_commit`."""
    return build_engine(url, connect_args={"options": "-c synchronous_commit=off"}, pool_size=5)


def is_relaxed(session: Session) -> bool:
    """The session's commits already skip the WAL flush (see `build_relaxed_engine`)."""
    return bool(session.info.get("relaxed"))


@contextmanager
def unit_of_work(bind: Engine, *, info: dict[str, Any]) -> Iterator[Session]:
    """Commit on success, roll back on any error."""
    # A plain Session, not one from a fresh sessionmaker: each sessionmaker makes a Session
    # subclass, and every class-level event listener is copied onto it at first use.
    session = Session(bind=bind, expire_on_commit=False, info=info)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
