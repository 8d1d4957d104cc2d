"""Job and clip rollup: insert-only deltas written by triggers, folded into a rollup;
partial indexes for the waiting and running steps the queue and agents sections read.

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
# table -> (basis, hour column, the rows it counts); every basis is keyed (hour, status).
SPECS: dict[str, tuple[tuple[str, str], ...]] = {
    "jobs": (("created", "created_at"), ("finished", "finished_at")),
    "clips": (("clips", "created_at"),),
}
WATCHED = {"jobs": ("status", "created_at", "finished_at"), "clips": ("status", "created_at")}


def _pg_rows(table: str, rows: str, sign: str) -> str:
    selects = " UNION ALL ".join(
        f"SELECT '{basis}', {PG_HOUR.format(column=column)}, status, {sign}count(*) "
        f"FROM {rows} WHERE {column} IS NOT NULL GROUP BY 2, 3"
        for basis, column in SPECS[table]
    )
    return f"INSERT INTO job_status_deltas (basis, hour, status, delta) {selects};"


def _pg_row(table: str, image: str, sign: str) -> str:
    return " ".join(
        f"IF {image}.{column} IS NOT NULL THEN "
        f"INSERT INTO job_status_deltas (basis, hour, status, delta) VALUES ('{basis}', "
        f"{PG_HOUR.format(column=f'{image}.{column}')}, {image}.status, {sign}1); END IF;"
        for basis, column in SPECS[table]
    )


def _pg_statements(table: str) -> tuple[str, ...]:
    name = table.rstrip("s")
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED[table])
    return (
        f"""CREATE FUNCTION {name}_rollup_inserted() RETURNS trigger AS $$
        BEGIN {_pg_rows(table, "inserted_rows", "")} RETURN NULL; END; $$ LANGUAGE plpgsql""",
        f"""CREATE FUNCTION {name}_rollup_deleted() RETURNS trigger AS $$
        BEGIN {_pg_rows(table, "deleted_rows", "-")} RETURN NULL; END; $$ LANGUAGE plpgsql""",
        f"""CREATE FUNCTION {name}_rollup_updated() RETURNS trigger AS $$
        BEGIN {_pg_row(table, "OLD", "-")} {_pg_row(table, "NEW", "")} RETURN NULL; END;
        $$ LANGUAGE plpgsql""",
        f"CREATE TRIGGER {name}_rollup_insert AFTER INSERT ON {table} REFERENCING NEW TABLE "
        f"AS inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_rollup_inserted()",
        f"CREATE TRIGGER {name}_rollup_delete AFTER DELETE ON {table} REFERENCING OLD TABLE "
        f"AS deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_rollup_deleted()",
        f"CREATE TRIGGER {name}_rollup_update AFTER UPDATE OF {', '.join(WATCHED[table])} "
        f"ON {table} FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}_rollup_updated()",
    )


def _sqlite_row(table: str, image: str, sign: str) -> str:
    return " ".join(
        f"INSERT INTO job_status_deltas (basis, hour, status, delta) SELECT '{basis}', "
        f"{SQLITE_HOUR.format(column=f'{image}.{column}')}, {image}.status, {sign}1 "
        f"WHERE {image}.{column} IS NOT NULL;"
        for basis, column in SPECS[table]
    )


def _sqlite_statements(table: str) -> tuple[str, ...]:
    name = table.rstrip("s")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED[table])
    return (
        f"CREATE TRIGGER {name}_rollup_insert AFTER INSERT ON {table} "
        f"BEGIN {_sqlite_row(table, 'NEW', '')} END",
        f"CREATE TRIGGER {name}_rollup_delete AFTER DELETE ON {table} "
        f"BEGIN {_sqlite_row(table, 'OLD', '-')} END",
        f"CREATE TRIGGER {name}_rollup_update AFTER UPDATE OF {', '.join(WATCHED[table])} "
        f"ON {table} WHEN {changed} "
        f"BEGIN {_sqlite_row(table, 'OLD', '-')} {_sqlite_row(table, 'NEW', '')} END",
    )


def _initial_rollup(hour: str) -> str:
    selects = " UNION ALL ".join(
        f"SELECT '{basis}', {hour.format(column=column)}, status, count(*) FROM {table} "
        f"WHERE {column} IS NOT NULL GROUP BY 2, 3"
        for table, specs in SPECS.items()
        for basis, column in specs
    )
    return f"INSERT INTO job_status_rollup (basis, hour, status, count) {selects}"


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
    for status, column in (("queued", "created_at"), ("running", "started_at")):
        op.create_index(
            f"ix_processing_steps_{status}_agent",
            "processing_steps",
            ["agent", column],
            unique=False,
            postgresql_where=sa.text(f"status = '{status}'"),
            sqlite_where=sa.text(f"status = '{status}'"),
        )
    dialect = op.get_bind().dialect.name
    for table in SPECS:
        if dialect == "postgresql":
            for statement in _pg_statements(table):
                op.execute(statement)
        elif dialect == "sqlite":
            for statement in _sqlite_statements(table):
                op.execute(statement)
    op.execute(_initial_rollup(PG_HOUR if dialect == "postgresql" else SQLITE_HOUR))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in SPECS:
        name = table.rstrip("s")
        for verb, function in (
            ("insert", "inserted"),
            ("delete", "deleted"),
            ("update", "updated"),
        ):
            on = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {name}_rollup_{verb}{on}")
            if dialect == "postgresql":
                op.execute(f"DROP FUNCTION IF EXISTS {name}_rollup_{function}()")
    for status in ("queued", "running"):
        op.drop_index(f"ix_processing_steps_{status}_agent", table_name="processing_steps")
    op.drop_index("ix_jobs_status_finished_at", table_name="jobs")
    op.drop_table("job_status_rollup")
    op.drop_table("job_status_deltas")
