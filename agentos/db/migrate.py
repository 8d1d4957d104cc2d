"""Schema migrations through Alembic, configured in code (the scripts ship in the package).

`ensure_schema` runs at server start: it upgrades a database that is behind, holding a
PostgreSQL advisory lock so several processes starting at once migrate it only once (on
SQLite the migration's `BEGIN IMMEDIATE` serialises them). `reset_schema` drops every
object and rebuilds through the same migrations, so a reset database is exactly a
migrated one.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning

from agentos.db import models  # noqa: F401  (registers every table)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
# pg_advisory_lock key: any constant shared by every AgentOS process ("AGOS").
MIGRATION_LOCK_KEY = 0x41474F53


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return head


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    """Every revision this version of AgentOS ships (a database at another one is newer)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.revision for script in scripts.walk_revisions())


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as connection:
        return _current(connection)


def _upgrade(connection: Connection, revision: str) -> None:
    """Upgrade on `connection`, which must not be inside a transaction."""
    if connection.dialect.name == "sqlite":
        _upgrade_sqlite(connection, revision)
        return
    with connection.begin():
        command.upgrade(alembic_config(connection), revision)


def _upgrade_sqlite(connection: Connection, revision: str) -> None:
    # Batch migrations rebuild tables (copy, drop, rename); with foreign keys on, dropping
    # the old table would cascade into its children. The pragma only changes outside a
    # transaction, hence the raw DBAPI cursor before the migration's transaction begins.
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            command.upgrade(alembic_config(connection), revision)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    finally:
        dbapi.execute("PRAGMA foreign_keys=ON")


def upgrade_to_head(engine: Engine) -> None:
    with engine.connect() as connection:
        _upgrade(connection, "head")


def ensure_schema(engine: Engine) -> None:
    """Upgrade the database to head if it is behind (safe to call concurrently)."""
    head = head_revision()
    if current_revision(engine) == head:
        return
    if engine.dialect.name != "postgresql":
        upgrade_to_head(engine)
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            # Another process may have migrated while this one waited for the lock.
            behind = _current(connection) != head
            connection.commit()
            if behind:
                _upgrade(connection, "head")
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


def reset_schema(engine: Engine) -> None:
    """Drop every table (alembic_version included), then migrate an empty database to head."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            _drop_postgresql(connection)
        else:
            _drop_generic(connection)
    upgrade_to_head(engine)


def _drop_generic(connection: Connection) -> None:
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    if connection.dialect.name == "sqlite":
        dbapi.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            for view in inspect(connection).get_view_names():
                connection.exec_driver_sql(f'DROP VIEW IF EXISTS "{view}"')
            existing = MetaData()
            with warnings.catch_warnings():  # indexes on expressions go with their tables
                warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
                existing.reflect(connection)
            existing.drop_all(connection)
    finally:
        if connection.dialect.name == "sqlite":
            dbapi.execute("PRAGMA foreign_keys=ON")


def _drop_postgresql(connection: Connection) -> None:
    """Drop the schema's views, tables and routines (triggers and sequences go with them)."""
    quote = connection.dialect.identifier_preparer.quote
    with connection.begin():
        inspector = inspect(connection)
        for view in inspector.get_view_names():
            connection.exec_driver_sql(f"DROP VIEW IF EXISTS {quote(view)} CASCADE")
        for table in inspector.get_table_names():
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(table)} CASCADE")
        # Trigger functions a later migration created; those of extensions stay.
        routines = connection.execute(
            text(
                "SELECT p.oid::regprocedure::text FROM pg_proc p"
                " JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p')"
                " AND NOT EXISTS (SELECT 1 FROM pg_depend d"
                "   WHERE d.objid = p.oid AND d.deptype = 'e')"
            )
        ).scalars()
        for routine in list(routines):
            connection.exec_driver_sql(f"DROP ROUTINE IF EXISTS {routine} CASCADE")


# Rows the system writes for itself: migrations, defaults created at start-up, rollups, the
# audit chain's head, bus traffic and heartbeats. None of them is an operator's data, so a
# freshly migrated or freshly started database still counts as empty.
BOOKKEEPING_TABLES = frozenset(
    {
        VERSION_TABLE,
        "agents",
        "workers",
        "bus_messages",
        "log_records",
        "audit_chain_head",
        "job_status_deltas",
        "job_status_rollup",
        "job_progress_marks",
        "step_status_deltas",
        "step_status_rollup",
    }
)


def database_is_empty(engine: Engine) -> bool:
    """True when no table holds operator data (a fresh or freshly migrated database)."""
    with engine.connect() as connection:
        tables = [
            name for name in inspect(connection).get_table_names() if name not in BOOKKEEPING_TABLES
        ]
        quote = connection.dialect.identifier_preparer.quote
        for table in tables:
            row = connection.exec_driver_sql(f"SELECT 1 FROM {quote(table)} LIMIT 1").first()
            if row is not None:
                return False
    return True


def describe(engine: Engine) -> dict[str, Any]:
    """Where the database stands: dialect, current and head revisions."""
    return {
        "dialect": engine.dialect.name,
        "current": current_revision(engine),
        "head": head_revision(),
    }
