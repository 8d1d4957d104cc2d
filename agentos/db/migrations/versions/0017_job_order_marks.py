"""A job whose priority, title or owner changes adds a delta row of 0 (basis "moved").

The job deltas change with every job created, deleted or moved to another status, and the
list anchors (agentos/services/jobs/anchors.py) rely on that: they hold while the deltas
are as they were. A change of priority moves a job in the list by priority; a change of
title or owner (raw SQL only: AgentOS never makes one) moves it in the list by title or
out of an owner's list. These now add a row too, of 0 (so no count changes) under a basis
no reader asks for; compaction folds it away like any other. Only rows whose value changes
fire the trigger, and AgentOS changes a priority only when an operator asks.

Revision ID: 0017_job_order_marks
Revises: 0016_covering_expression_indexes
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017_job_order_marks"
down_revision: str | None = "0016_covering_expression_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKED = ("priority", "title", "owner_id")
_INSERT = (
    "INSERT INTO job_status_deltas (basis, hour, status, delta) VALUES ('moved', {hour}, "
    "NEW.status, 0);"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in MARKED)
        insert = _INSERT.format(hour="date_trunc('hour', NEW.created_at, 'UTC')")
        op.execute(
            f"CREATE FUNCTION job_order_moved() RETURNS trigger AS $$ BEGIN {insert} "
            "RETURN NULL; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER job_order_moved AFTER UPDATE OF {', '.join(MARKED)} ON jobs "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION job_order_moved()"
        )
        return
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in MARKED)
    insert = _INSERT.format(hour="strftime('%Y-%m-%d %H:00:00.000000', NEW.created_at)")
    op.execute(
        f"CREATE TRIGGER job_order_moved AFTER UPDATE OF {', '.join(MARKED)} ON jobs "
        f"WHEN {changed} BEGIN {insert} END"
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS job_order_moved"
        + (" ON jobs" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS job_order_moved()")
