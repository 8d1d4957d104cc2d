"""Every column a job list is ordered by adds a delta row of 0 when it changes.

Migration 0017 marked a change of priority, title or owner, so lists in those orders keep
their anchors (agentos/services/jobs/anchors.py). The update time, progress, attempts and
stage change at every step of a job; marking them too (a row of 0 under the basis "moved",
folded away by compaction like any other) lets lists in those orders keep anchors while no
job changes. It costs the pipeline one more row per job update, in the same transaction:
the heartbeat's progress update, every half second per running stage, is the most frequent.

Revision ID: 0018_job_order_marks_all_sorts
Revises: 0017_job_order_marks
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018_job_order_marks_all_sorts"
down_revision: str | None = "0017_job_order_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("priority", "title", "owner_id")
MARKED = (*BEFORE, "updated_at", "progress", "attempts", "current_stage")
_INSERT_SQLITE = (
    "INSERT INTO job_status_deltas (basis, hour, status, delta) VALUES ('moved', "
    "strftime('%Y-%m-%d %H:00:00.000000', NEW.created_at), NEW.status, 0);"
)


def _mark(columns: Sequence[str]) -> None:
    """(Re)create the trigger for `columns`; PostgreSQL's function stays as 0017 made it."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP TRIGGER IF EXISTS job_order_moved" + (" ON jobs" if postgresql else ""))
    of = ", ".join(columns)
    if postgresql:
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
        op.execute(
            f"CREATE TRIGGER job_order_moved AFTER UPDATE OF {of} ON jobs "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION job_order_moved()"
        )
        return
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)
    op.execute(
        f"CREATE TRIGGER job_order_moved AFTER UPDATE OF {of} ON jobs "
        f"WHEN {changed} BEGIN {_INSERT_SQLITE} END"
    )


def upgrade() -> None:
    _mark(MARKED)


def downgrade() -> None:
    _mark(BEFORE)
