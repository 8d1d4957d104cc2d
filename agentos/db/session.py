"""Engines and sessions. The boundary (request, task, CLI command) owns the transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from agentos.settings import Settings

_engines: dict[str, Engine] = {}
_RELAXED = "relaxed:"
_lock = threading.Lock()


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the server, workers and a local CLI share one file; the busy timeout makes
    # writers queue instead of failing; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


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

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        event.listen(engine, "begin", _begin_immediate)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def get_engine(settings: Settings, *, relaxed: bool = False) -> Engine:
    """The process's engine for the settings' database.

    `relaxed`: on PostgreSQL, a second engine whose connections commit without waiting for
    the WAL flush (`synchronous_commit = off` for the connection, so no statement per
    transaction): only for runner bookkeeping, see `services.work.relaxed_commit`. SQLite
    has one engine either way.
    """
    url = settings.resolved_database_url
    relaxed = relaxed and not settings.is_sqlite
    with _lock:
        engine = _engines.get(_RELAXED + url if relaxed else url)
        if engine is None:
            if settings.is_sqlite:
                settings.ensure_home()
            if relaxed:
                engine = build_engine(
                    url,
                    connect_args={"options": "-c synchronous_commit=off"},
                    pool_size=5,
                )
            else:
                engine = build_engine(url)
            _engines[_RELAXED + url if relaxed else url] = engine
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(settings: Settings) -> sessionmaker[Session]:
    # The session carries its settings so services can reach configuration and backends
    # (see `agentos.services.runtime`) without every signature growing a settings argument.
    return sessionmaker(
        bind=get_engine(settings), expire_on_commit=False, info={"settings": settings}
    )


def is_relaxed(session: Session) -> bool:
    """The session's commits already skip the WAL flush (see `get_engine(relaxed=True)`)."""
    return bool(session.info.get("relaxed"))


@contextmanager
def session_scope(settings: Settings, *, relaxed: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. `relaxed`: runner
    bookkeeping whose commit need not wait for the disk (`get_engine`)."""
    # A plain Session, not one from a fresh sessionmaker: each sessionmaker makes a Session
    # subclass, and every class-level event listener is copied onto it at first use.
    relaxed = relaxed and not settings.is_sqlite
    session = Session(
        bind=get_engine(settings, relaxed=relaxed),
        expire_on_commit=False,
        info={"settings": settings, "relaxed": relaxed},
    )
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
