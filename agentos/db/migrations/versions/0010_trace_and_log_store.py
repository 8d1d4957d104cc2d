"""One trace id from request to worker, and the structured log store.

Jobs, their steps and system events keep the trace id of the request that caused them;
log records keep where they were written (process), the job and the actor, indexed for
`logs.search` by trace id, job, source and time. On PostgreSQL the message text is
trigram-indexed (pg_trgm), so a text search over millions of records uses the index.

Revision ID: 0010_trace_and_log_store
Revises: 0009_settings_history_reason
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_trace_and_log_store"
down_revision: str | None = "0009_settings_history_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases: a batch (copy-and-move) on SQLite would drop the
# rollup triggers these tables carry.
TRACED = ("jobs", "processing_steps", "system_events")


def upgrade() -> None:
    for table in TRACED:
        op.add_column(table, sa.Column("trace_id", sa.String(length=64), nullable=True))
    op.create_index("ix_system_events_trace_id", "system_events", ["trace_id"])
    with op.batch_alter_table("log_records") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("job_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("actor", sa.String(length=64), nullable=True))
    op.create_index("ix_log_records_trace_id", "log_records", ["trace_id"])
    op.create_index("ix_log_records_job_id", "log_records", ["job_id"])
    op.create_index("ix_log_records_source_created_at", "log_records", ["source", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_log_records_message_trgm ON log_records "
            "USING gin (message gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_log_records_message_trgm")
    op.drop_index("ix_log_records_source_created_at", table_name="log_records")
    op.drop_index("ix_log_records_job_id", table_name="log_records")
    op.drop_index("ix_log_records_trace_id", table_name="log_records")
    with op.batch_alter_table("log_records") as batch:
        for column in ("actor", "job_id", "source"):
            batch.drop_column(column)
    op.drop_index("ix_system_events_trace_id", table_name="system_events")
    for table in reversed(TRACED):
        op.execute(f"ALTER TABLE {table} DROP COLUMN trace_id")
