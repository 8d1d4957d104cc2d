"""Step rollup: processing_steps per (agent, status), as insert-only deltas written by
triggers and folded into a rollup, so the agents and queue sections read a handful of rows
instead of counting the waiting and running steps.

Same scheme as 0003: PostgreSQL aggregates INSERT and DELETE per statement (transition
tables; cascaded deletes from jobs and agents fire them too) and fires a row trigger only
for updates that change agent or status; SQLite has row triggers only. The rollup starts
from the rows already present.

Revision ID: 0005_step_rollups
Revises: 0004_audit_chain_head
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_step_rollups"
down_revision: str | None = "0004_audit_chain_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSERT = "INSERT INTO step_status_deltas (agent, status, delta)"

PG_STATEMENTS = (
    f"""CREATE FUNCTION step_rollup_inserted() RETURNS trigger AS $$
    BEGIN {INSERT} SELECT agent, status, count(*) FROM inserted_rows GROUP BY 1, 2;
    RETURN NULL; END; $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION step_rollup_deleted() RETURNS trigger AS $$
    BEGIN {INSERT} SELECT agent, status, -count(*) FROM deleted_rows GROUP BY 1, 2;
    RETURN NULL; END; $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION step_rollup_updated() RETURNS trigger AS $$
    BEGIN {INSERT} VALUES (OLD.agent, OLD.status, -1), (NEW.agent, NEW.status, 1);
    RETURN NULL; END; $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER step_rollup_insert AFTER INSERT ON processing_steps REFERENCING NEW TABLE "
    "AS inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION step_rollup_inserted()",
    "CREATE TRIGGER step_rollup_delete AFTER DELETE ON processing_steps REFERENCING OLD TABLE "
    "AS deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION step_rollup_deleted()",
    "CREATE TRIGGER step_rollup_update AFTER UPDATE OF agent, status ON processing_steps "
    "FOR EACH ROW WHEN (OLD.agent IS DISTINCT FROM NEW.agent OR "
    "OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION step_rollup_updated()",
)
SQLITE_STATEMENTS = (
    "CREATE TRIGGER step_rollup_insert AFTER INSERT ON processing_steps "
    f"BEGIN {INSERT} VALUES (NEW.agent, NEW.status, 1); END",
    "CREATE TRIGGER step_rollup_delete AFTER DELETE ON processing_steps "
    f"BEGIN {INSERT} VALUES (OLD.agent, OLD.status, -1); END",
    "CREATE TRIGGER step_rollup_update AFTER UPDATE OF agent, status ON processing_steps "
    "WHEN OLD.agent IS NOT NEW.agent OR OLD.status IS NOT NEW.status "
    f"BEGIN {INSERT} VALUES (OLD.agent, OLD.status, -1), (NEW.agent, NEW.status, 1); END",
)


def upgrade() -> None:
    op.create_table(
        "step_status_deltas",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_status_deltas")),
    )
    op.create_table(
        "step_status_rollup",
        sa.Column("agent", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "status", name=op.f("pk_step_status_rollup")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in PG_STATEMENTS:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in SQLITE_STATEMENTS:
            op.execute(statement)
    op.execute(
        "INSERT INTO step_status_rollup (agent, status, count) "
        "SELECT agent, status, count(*) FROM processing_steps GROUP BY 1, 2"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    on = " ON processing_steps" if dialect == "postgresql" else ""
    for verb in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS step_rollup_{verb}{on}")
    if dialect == "postgresql":
        for function in ("inserted", "deleted", "updated"):
            op.execute(f"DROP FUNCTION IF EXISTS step_rollup_{function}()")
    op.drop_table("step_status_rollup")
    op.drop_table("step_status_deltas")
