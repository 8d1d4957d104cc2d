"""Database maintenance for the front ends: migrate, check, reset-and-seed.

These act on the database this machine is configured for (AGENTOS_HOME or
AGENTOS_DATABASE_URL) and have no HTTP endpoint: resetting a database is not something a
remote client should be able to ask for.
"""

from __future__ import annotations

from agentos.client.connection import Connection
from agentos.db import migrate
from agentos.db.session import get_engine
from agentos.errors import InvalidError, UnavailableError
from agentos.schemas.db import MigrationResult, SchemaReport
from agentos.schemas.seed import SeedOptions, SeedProgress, SeedResult
from agentos.services import schema_check, seed


def _local_only(conn: Connection, what: str) -> None:
    if not conn.local:
        raise InvalidError(
            f"`agentos db {what}` works only locally (no HTTP endpoint): run it without "
            "--server on a host configured for the database",
            code="LOCAL_ONLY",
        )


def _unreachable(exc: Exception) -> UnavailableError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UnavailableError(f"database unreachable: {first}", code="DATABASE_UNAVAILABLE")


def migrate_to_head(conn: Connection) -> MigrationResult:
    _local_only(conn, "migrate")
    engine = get_engine(conn.settings)
    try:
        before = migrate.current_revision(engine)
        migrate.ensure_schema(conn.settings)
        after = migrate.current_revision(engine)
    except OSError as exc:
        raise _unreachable(exc) from exc
    return MigrationResult(
        dialect=engine.dialect.name, before=before, after=after, head=migrate.head_revision()
    )


def check_schema(conn: Connection) -> SchemaReport:
    _local_only(conn, "check")
    return schema_check.compare(get_engine(conn.settings))


def database_is_empty(conn: Connection) -> bool:
    """True when the database holds no rows; a database that cannot be read is not empty."""
    _local_only(conn, "reset-and-seed")
    try:
        return seed.is_empty(conn.settings)
    except Exception:  # a broken schema is exactly what reset-and-seed is for; ask first
        return False


def reset_and_seed(
    conn: Connection, *, options: SeedOptions, progress: SeedProgress | None = None
) -> SeedResult:
    _local_only(conn, "reset-and-seed")
    return seed.reset_and_seed(conn.settings, options=options, progress=progress)
