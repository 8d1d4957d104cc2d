"""Job status rollup: insert-only deltas written by triggers on jobs, folded into a rollup.

Every write to `jobs` adds delta rows in its own transaction: "created" (hour of
created_at, status) and "finished" (hour of finished_at, status; jobs with a finish time),
+1 for the new row image and -1 for the old one. PostgreSQL aggregates INSERT and DELETE
per statement (a bulk load of a million rows adds a few dozen deltas, not a million) and
fires a row trigger only for updates that change status, created_at or finished_at; SQLite
has row triggers only. The rollup starts from the rows already present.

Revision ID: 0003_job_rollups
Revises: 0002_audit_immutable
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_job_rollups"
down_revision: str | None = "0002_audit_immutable"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PG_HOUR = "date_trunc('hour', {column}, 'UTC')"
SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {column})"
CHANGED = (
    "OLD.status IS DISTINCT FROM NEW.status OR OLD.finished_at IS DISTINCT FROM NEW.finished_at"
    " OR OLD.created_at IS DISTINCT FROM NEW.created_at"
)


def _pg_rows(table: str, sign: str) -> str:
    created, finished = PG_HOUR.format(column="created_at"), PG_HOUR.format(column="finished_at")
    return f"""
        INSERT INTO job_status_deltas (basis, hour, status, delta)
        SELECT 'created', {created}, status, {sign}count(*) FROM {table} GROUP BY 2, 3
        UNION ALL
        SELECT 'finished', {finished}, status, {sign}count(*) FROM {table}
        WHERE finished_at IS NOT NULL GROUP BY 2, 3;"""


def _pg_row(image: str, sign: str) -> str:
    created = PG_HOUR.format(column=f"{image}.created_at")
    finished = PG_HOUR.format(column=f"{image}.finished_at")
    return f"""
        INSERT INTO job_status_deltas (basis, hour, status, delta)
        VALUES ('created', {created}, {image}.status, {sign}1);
        IF {image}.finished_at IS NOT NULL THEN
            INSERT INTO job_status_deltas (basis, hour, status, delta)
            VALUES ('finished', {finished}, {image}.status, {sign}1);
        END IF;"""


PG_STATEMENTS = (
    f"""CREATE FUNCTION job_rollup_inserted() RETURNS trigger AS $$
    BEGIN {_pg_rows("inserted_rows", "")} RETURN NULL; END; $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION job_rollup_deleted() RETURNS trigger AS $$
    BEGIN {_pg_rows("deleted_rows", "-")} RETURN NULL; END; $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION job_rollup_updated() RETURNS trigger AS $$
    BEGIN {_pg_row("OLD", "-")} {_pg_row("NEW", "")} RETURN NULL; END; $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER job_rollup_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS "
    "inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_inserted()",
    "CREATE TRIGGER job_rollup_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS "
    "deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_deleted()",
    "CREATE TRIGGER job_rollup_update AFTER UPDATE OF status, created_at, finished_at ON jobs "
    f"FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION job_rollup_updated()",
)


def _sqlite_row(image: str, sign: str) -> str:
    created = SQLITE_HOUR.format(column=f"{image}.created_at")
    finished = SQLITE_HOUR.format(column=f"{image}.finished_at")
    return (
        f"INSERT INTO job_status_deltas (basis, hour, status, delta) "
        f"VALUES ('created', {created}, {image}.status, {sign}1); "
        f"INSERT INTO job_status_deltas (basis, hour, status, delta) "
        f"SELECT 'finished', {finished}, {image}.status, {sign}1 "
        f"WHERE {image}.finished_at IS NOT NULL;"
    )


SQLITE_STATEMENTS = (
    f"CREATE TRIGGER job_rollup_insert AFTER INSERT ON jobs BEGIN {_sqlite_row('NEW', '')} END",
    f"CREATE TRIGGER job_rollup_delete AFTER DELETE ON jobs BEGIN {_sqlite_row('OLD', '-')} END",
    "CREATE TRIGGER job_rollup_update AFTER UPDATE OF status, created_at, finished_at ON jobs "
    "WHEN OLD.status IS NOT NEW.status OR OLD.finished_at IS NOT NEW.finished_at "
    "OR OLD.created_at IS NOT NEW.created_at "
    f"BEGIN {_sqlite_row('OLD', '-')} {_sqlite_row('NEW', '')} END",
)


def _initial_rollup(hour: str) -> str:
    created, finished = hour.format(column="created_at"), hour.format(column="finished_at")
    return f"""
        INSERT INTO job_status_rollup (basis, hour, status, count)
        SELECT 'created', {created}, status, count(*) FROM jobs GROUP BY 2, 3
        UNION ALL
        SELECT 'finished', {finished}, status, count(*) FROM jobs
        WHERE finished_at IS NOT NULL GROUP BY 2, 3"""


def upgrade() -> None:
    op.create_table(
        "job_status_deltas",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_status_deltas")),
    )
    op.create_table(
        "job_status_rollup",
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("basis", "hour", "status", name=op.f("pk_job_status_rollup")),
    )
    op.create_index("ix_jobs_status_finished_at", "jobs", ["status", "finished_at"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in PG_STATEMENTS:
            op.execute(statement)
        op.execute(_initial_rollup(PG_HOUR))
    elif dialect == "sqlite":
        for statement in SQLITE_STATEMENTS:
            op.execute(statement)
        op.execute(_initial_rollup(SQLITE_HOUR))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in ("job_rollup_insert", "job_rollup_delete", "job_rollup_update"):
        op.execute(
            f"DROP TRIGGER IF EXISTS {name}" + (" ON jobs" if dialect == "postgresql" else "")
        )
    if dialect == "postgresql":
        for name in ("job_rollup_inserted", "job_rollup_deleted", "job_rollup_updated"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_index("ix_jobs_status_finished_at", table_name="jobs")
    op.drop_table("job_status_rollup")
    op.drop_table("job_status_deltas")
