"""Every job write a list can see adds a mark naming the job, its transaction and the row before.

A list's anchors (agentos/services/jobs/anchors.py) held only while the job deltas stood
still, and a job created, deleted or moved to another status adds a delta: on a busy system
every list lost its anchors within seconds. Migration 0019 spared the lists not ordered by
what the pipeline moves at every step, but those (update time, progress, attempts, stage)
lost theirs at every heartbeat.

On PostgreSQL `job_progress_marks` now takes a row for every job created or deleted and
every change of a column a list is ordered or filtered by, with the job's id, the writing
transaction (`pg_current_xact_id`) and the values before the change (none for a job just
created: `old_created_at` is NULL). Anchors taken in a snapshot are then corrected exactly
instead of retired: the marks that snapshot does not see name every job that moved since,
its first such mark says where it was then, its row says where it is now
(agentos/services/jobs/marks.py). Jobs created by one statement (a bulk COPY) are marked
by one INSERT from its transition table. SQLite leaves the new columns empty: its writers
take turns, and its lists keep retiring their anchors as before.

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

# The job columns a list is ordered or filtered by (the id never changes).
LISTED = (
    "created_at",
    "status",
    "owner_id",
    "title",
    "priority",
    "updated_at",
    "progress",
    "attempts",
    "current_stage",
)
PROGRESS = ("updated_at", "progress", "attempts", "current_stage")  # 0019's trigger
_OLD = ", ".join(f"old_{column}" for column in LISTED)


def _columns() -> list[sa.Column[object]]:
    """The new columns but `xact`: an xid8 on PostgreSQL (added apart: SQLAlchemy has no
    such type), an integer left empty on SQLite."""
    return [
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("old_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("old_status", sa.String(16), nullable=True),
        sa.Column("old_owner_id", sa.Uuid(), nullable=True),
        sa.Column("old_title", sa.String(255), nullable=True),
        sa.Column("old_priority", sa.Integer(), nullable=True),
        sa.Column("old_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("old_progress", sa.Float(), nullable=True),
        sa.Column("old_attempts", sa.Integer(), nullable=True),
        sa.Column("old_current_stage", sa.String(32), nullable=True),
    ]


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {body} "
        "RETURN NULL; END; $$ LANGUAGE plpgsql"
    )


_OLD_ROW = ", ".join(f"OLD.{column}" for column in LISTED)
_MARK_CHANGED = (
    f"INSERT INTO job_progress_marks (job_id, xact, {_OLD}) "
    f"VALUES (OLD.id, pg_current_xact_id(), {_OLD_ROW});"
)
_MARK_CREATED = (
    "INSERT INTO job_progress_marks (job_id, xact) SELECT id, pg_current_xact_id() FROM added;"
)


def _update_trigger(columns: Sequence[str]) -> None:
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
    op.execute("DROP TRIGGER IF EXISTS job_progress_marked ON jobs")
    op.execute(
        f"CREATE TRIGGER job_progress_marked AFTER UPDATE OF {', '.join(columns)} ON jobs "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION job_progress_marked()"
    )


def upgrade() -> None:
    # Plain ALTER TABLE on SQLite too (3.35+ drops columns): a batch copy of the table would
    # rename it back under the trigger on jobs that writes to it, which SQLite refuses.
    for column in _columns():
        op.add_column("job_progress_marks", column)
    if op.get_bind().dialect.name != "postgresql":
        op.add_column("job_progress_marks", sa.Column("xact", sa.BigInteger(), nullable=True))
        op.create_index("ix_job_progress_marks_xact", "job_progress_marks", ["xact"])
        return
    op.execute("ALTER TABLE job_progress_marks ADD COLUMN xact xid8")
    op.create_index("ix_job_progress_marks_xact", "job_progress_marks", ["xact"])
    op.execute(_function("job_progress_marked", _MARK_CHANGED))
    _update_trigger(LISTED)
    op.execute(_function("job_marked_created", _MARK_CREATED))
    op.execute(
        "CREATE TRIGGER job_marked_created AFTER INSERT ON jobs REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION job_marked_created()"
    )
    op.execute(
        "CREATE TRIGGER job_marked_deleted AFTER DELETE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION job_progress_marked()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS job_marked_deleted ON jobs")
        op.execute("DROP TRIGGER IF EXISTS job_marked_created ON jobs")
        op.execute("DROP FUNCTION IF EXISTS job_marked_created()")
        op.execute(
            _function("job_progress_marked", "INSERT INTO job_progress_marks DEFAULT VALUES;")
        )
        _update_trigger(PROGRESS)
    op.drop_index("ix_job_progress_marks_xact", table_name="job_progress_marks")
    for name in ("xact", *(column.name for column in reversed(_columns()))):
        op.drop_column("job_progress_marks", name)
