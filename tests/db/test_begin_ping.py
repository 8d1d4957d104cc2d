"""The pool's pre-ping as the transaction's BEGIN (agentos/db/begin_ping.py), on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import IsolationLevel, pq
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from agentos.db import begin_ping
from agentos.db.session import build_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = build_engine(postgres_url, pool_size=2, max_overflow=0)
    with engine.begin() as connection:  # a pooled connection: only those are pinged
        connection.exec_driver_sql("CREATE TABLE begin_ping_probe (n int)")
    yield engine
    engine.dispose()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every query psycopg sends through a cursor (the plain ping is one: ';')."""
    queries: list[str] = []
    execute = psycopg.Cursor.execute

    def recording(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        queries.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording)
    return queries


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _status(session: Session) -> pq.TransactionStatus:
    dbapi: Any = session.connection().connection.driver_connection
    return pq.TransactionStatus(dbapi.pgconn.transaction_status)


def test_the_ping_opens_the_transaction_and_psycopg_sends_no_begin(
    engine: Engine, sent: list[str]
) -> None:
    with Session(engine) as session:
        begin_ping.check_out_begun(session)
        assert sent == []  # no ';' ping
        assert _status(session) == pq.TransactionStatus.INTRANS  # before any statement
        session.execute(text("INSERT INTO begin_ping_probe VALUES (1)"))
        session.commit()
    with engine.connect() as other:
        assert other.execute(text("SELECT count(*) FROM begin_ping_probe")).scalar_one() == 1


def test_other_checkouts_ping_as_before(engine: Engine, sent: list[str]) -> None:
    with Session(engine) as session:
        session.connection()
        assert sent == [";"]
        assert _status(session) == pq.TransactionStatus.IDLE
        begin_ping.check_out_begun(session)  # already checked out: nothing more is sent
        assert sent == [";"]
    # While a begun session holds its connection, another checkout may still switch to
    # autocommit (VACUUM cannot run in a transaction).
    with Session(engine) as session:
        begin_ping.check_out_begun(session)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
            vacuum.exec_driver_sql("VACUUM begin_ping_probe")
        session.rollback()


def test_a_dead_connection_is_replaced(engine: Engine, postgres_url: str) -> None:
    with engine.connect() as connection:
        dead_pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (dead_pid,))
    with Session(engine) as session:
        begin_ping.check_out_begun(session)
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        session.execute(text("INSERT INTO begin_ping_probe VALUES (2)"))
        session.commit()
    assert pid != dead_pid


def test_the_begin_carries_the_connections_transaction_settings(postgres_url: str) -> None:
    with psycopg.connect(_conninfo(postgres_url)) as connection:
        connection.isolation_level = IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        command = begin_ping._begin_command(connection)
        assert command == b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        assert begin_ping._begin(connection, command)
        isolation = connection.execute("SHOW transaction_isolation").fetchone()
        read_only = connection.execute("SHOW transaction_read_only").fetchone()
        assert isolation == ("repeatable read",)
        assert read_only == ("on",)
        connection.rollback()
        connection.autocommit = True
        assert begin_ping._begin_command(connection) is None
