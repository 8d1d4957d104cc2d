"""The seed's fast path: writing generated batches into the database.

PostgreSQL: binary COPY (psycopg 3) into the three big tables, with their indexes, primary
and unique keys and foreign keys dropped for the load and rebuilt from the catalogue's own
definitions afterwards (one sort per index instead of a B-tree insert per row, and one
join per foreign key instead of a lookup per row). Everything happens in the caller's
transaction, so a failed load leaves the schema exactly as it was.

SQLite: batched executemany through SQLAlchemy Core, which applies the column types.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from psycopg.types.json import set_json_dumps
from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

from agentos.db.base import Base
from agentos.schemas.seed import SeedProgress
from agentos.services.seed.rows import CLIP_COLUMNS, JOB_COLUMNS, STEP_COLUMNS, Batch

BULK_TABLES: dict[str, tuple[str, ...]] = {
    "jobs": JOB_COLUMNS,
    "processing_steps": STEP_COLUMNS,
    "clips": CLIP_COLUMNS,
}


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def load(
    connection: Connection,
    batches: Iterable[Batch],
    *,
    total_jobs: int,
    progress: SeedProgress | None = None,
) -> dict[str, int]:
    """Write every batch; returns rows written per table. The caller owns the transaction."""
    report = progress or _no_progress
    if connection.dialect.name == "postgresql":
        with without_keys(connection, tuple(BULK_TABLES), report):
            return _copy_batches(connection, batches, total_jobs, report)
    return _insert_batches(connection, batches, total_jobs, report)


def insert_rows(
    connection: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> int:
    """Plain batched INSERT of small tables (users, events) on either database."""
    if rows:
        target: Table = Base.metadata.tables[table]
        connection.execute(target.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    return len(rows)


def _insert_batches(
    connection: Connection, batches: Iterable[Batch], total_jobs: int, report: SeedProgress
) -> dict[str, int]:
    written = dict.fromkeys(BULK_TABLES, 0)
    for batch in batches:
        for table, rows in _batch_tables(batch):
            written[table] += insert_rows(connection, table, BULK_TABLES[table], rows)
        report("jobs", written["jobs"], total_jobs)
    return written


def _batch_tables(batch: Batch) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    yield "jobs", batch.jobs
    yield "processing_steps", batch.steps
    yield "clips", batch.clips


def _copy_batches(
    connection: Connection, batches: Iterable[Batch], total_jobs: int, report: SeedProgress
) -> dict[str, int]:
    raw = connection.connection.driver_connection
    assert raw is not None
    # orjson is several times faster than the stdlib for the JSON columns; the setting
    # stays on this connection, which the seed owns (see seed.py).
    set_json_dumps(orjson.dumps, context=raw)
    type_oids = {
        table: _column_oids(connection, table, BULK_TABLES[table]) for table in BULK_TABLES
    }
    written = dict.fromkeys(BULK_TABLES, 0)
    cursor = raw.cursor()
    for batch in batches:
        for table, rows in _batch_tables(batch):
            if not rows:
                continue
            columns = ", ".join(f'"{name}"' for name in BULK_TABLES[table])
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(type_oids[table])
                for row in rows:
                    copy.write_row(row)
            written[table] += len(rows)
        report("jobs", written["jobs"], total_jobs)
    return written


def _column_oids(connection: Connection, table: str, columns: tuple[str, ...]) -> list[int]:
    rows = connection.execute(
        text(
            "SELECT attname, atttypid::int FROM pg_attribute"
            " WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped"
        ),
        {"table": table},
    )
    found = {str(name): int(oid) for name, oid in rows}
    return [int(found[name]) for name in columns]


@contextmanager
def without_keys(
    connection: Connection, tables: tuple[str, ...], report: SeedProgress
) -> Iterator[None]:
    """Drop the tables' indexes and keys (and foreign keys into them), rebuild them after."""
    statements = connection.execute(text(_KEYS_SQL), {"tables": list(tables)}).all()
    for _order, drop_sql, _create_sql in statements:
        connection.exec_driver_sql(drop_sql)
    yield
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    rebuild = sorted(statements, key=lambda row: -row[0])
    for done, (_order, _drop_sql, create_sql) in enumerate(rebuild, start=1):
        report("indexes", done - 1, len(rebuild))
        connection.exec_driver_sql(create_sql)
    report("indexes", len(rebuild), len(rebuild))
    for table in tables:
        connection.exec_driver_sql(f"ANALYZE {table}")


# (order, drop, create): dropped in ascending order (foreign keys, plain indexes, then
# primary/unique keys), rebuilt in descending order. Indexes behind constraints go with
# their constraint; every definition comes from the catalogue, so the rebuilt schema is
# exactly the migrated one.
_KEYS_SQL = """
WITH targets AS (
    SELECT CAST(name AS regclass) AS oid FROM unnest(CAST(:tables AS text[])) AS name
)
SELECT 1, format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid))
  FROM pg_constraint c
 WHERE c.contype = 'f'
   AND (c.conrelid IN (SELECT oid FROM targets) OR c.confrelid IN (SELECT oid FROM targets))
UNION ALL
SELECT 2, format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
  FROM pg_index i
 WHERE i.indrelid IN (SELECT oid FROM targets)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                    WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 3, format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid))
  FROM pg_constraint c
 WHERE c.contype IN ('p', 'u') AND c.conrelid IN (SELECT oid FROM targets)
ORDER BY 1, 2
"""
