"""A progress mark names its job, its transaction and the values it replaced.

Migration 0019 gave the columns the pipeline moves at every step (update time, progress,
attempts, stage) a mark of their own, so a running pipeline retires only the anchors of the
lists ordered by them. Under running jobs those lists then never kept anchors: every
heartbeat retired them, and each deep page by number skipped up to half a million rows.

Each mark now also holds the job's id, the transaction that wrote it (`pg_current_xact_id`)
and the four values before the change. A list's anchors taken in a snapshot can then be
corrected exactly: the marks that snapshot does not see name every job moved since, from
where (its first such mark's old values) to where (its row now)
(agentos/services/jobs/marks.py). SQLite leaves the new columns empty: its writers take
turns, and its lists keep retiring their anchors at each mark as before.

Revision ID: 0021_progress_marks_old_values
Revises: 0020_audit_append_function
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_progress_marks_old_values"
down_revision: str | None = "0020_audit_append_function"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> list[sa.Column[object]]:
    """The new columns but `xact`: an xid8 on PostgreSQL (added apart: SQLAlchemy has no
    such type), an integer left empty on SQLite."""
    return [
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("old_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("old_progress", sa.Float(), nullable=True),
        sa.Column("old_attempts", sa.Integer(), nullable=True),
        sa.Column("old_current_stage", sa.String(32), nullable=True),
    ]


_FUNCTION = (
    "CREATE OR REPLACE FUNCTION job_progress_marked() RETURNS trigger AS $$ BEGIN {body} "
    "RETURN NULL; END; $$ LANGUAGE plpgsql"
)
_MARK = (
    "INSERT INTO job_progress_marks (job_id, xact, old_updated_at, old_progress, "
    "old_attempts, old_current_stage) VALUES (OLD.id, pg_current_xact_id(), OLD.updated_at, "
    "OLD.progress, OLD.attempts, OLD.current_stage);"
)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    # Plain ALTER TABLE on SQLite too (3.35+ drops columns): a batch copy of the table would
    # rename it back under the trigger on jobs that writes to it, which SQLite refuses.
    for column in _columns():
        op.add_column("job_progress_marks", column)
    if _postgresql():
        op.execute("ALTER TABLE job_progress_marks ADD COLUMN xact xid8")
        op.execute(_FUNCTION.format(body=_MARK))
    else:
        op.add_column("job_progress_marks", sa.Column("xact", sa.BigInteger(), nullable=True))
    op.create_index("ix_job_progress_marks_xact", "job_progress_marks", ["xact"])


def downgrade() -> None:
    op.drop_index("ix_job_progress_marks_xact", table_name="job_progress_marks")
    if _postgresql():
        op.execute(_FUNCTION.format(body="INSERT INTO job_progress_marks DEFAULT VALUES;"))
    for name in ("xact", *(column.name for column in reversed(_columns()))):
        op.drop_column("job_progress_marks", name)
