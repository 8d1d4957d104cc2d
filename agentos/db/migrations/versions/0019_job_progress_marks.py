"""A job's progress columns mark their own table, so a running pipeline leaves other lists be.

Migration 0018 made a change of update time, progress, attempts or stage add a delta row
of 0, like a change of priority, title or owner. But the pipeline changes those four at
every step, and its progress heartbeat every half second per running stage, so on a busy
system the job deltas never stood still: every list's anchors and every kept total were
retired, though no list but the ones ordered by those four had moved.

Those four now add a row to `job_progress_marks` instead (an id and nothing else, folded
away by compaction like the deltas). The lists ordered by them take both tables' stamps;
every other list, and every kept total, only the job deltas' (agentos/services/jobs).

Revision ID: 0019_job_progress_marks
Revises: 0018_job_order_marks_all_sorts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_job_progress_marks"
down_revision: str | None = "0018_job_order_marks_all_sorts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ORDER = ("priority", "title", "owner_id")
PROGRESS = ("updated_at", "progress", "attempts", "current_stage")
_DELTA_SQLITE = (
    "INSERT INTO job_status_deltas (basis, hour, status, delta) VALUES ('moved', "
    "strftime('%Y-%m-%d %H:00:00.000000', NEW.created_at), NEW.status, 0);"
)
# SQLite's triggers take no INSERT ... DEFAULT VALUES; a NULL id is the next one.
_MARK_SQLITE = "INSERT INTO job_progress_marks (id) VALUES (NULL);"


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _trigger(name: str, columns: Sequence[str], sqlite_body: str) -> None:
    """(Re)create trigger `name` for `columns`; on PostgreSQL it runs the function `name`."""
    postgresql = _postgresql()
    op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON jobs" if postgresql else ""))
    of = ", ".join(columns)
    if postgresql:
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
        op.execute(
            f"CREATE TRIGGER {name} AFTER UPDATE OF {of} ON jobs "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}()"
        )
        return
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)
    op.execute(
        f"CREATE TRIGGER {name} AFTER UPDATE OF {of} ON jobs WHEN {changed} BEGIN {sqlite_body} END"
    )


def upgrade() -> None:
    op.create_table(
        "job_progress_marks",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_progress_marks")),
    )
    if _postgresql():
        op.execute(
            "CREATE FUNCTION job_progress_marked() RETURNS trigger AS $$ BEGIN "
            "INSERT INTO job_progress_marks DEFAULT VALUES; RETURN NULL; END; $$ "
            "LANGUAGE plpgsql"
        )
    _trigger("job_order_moved", ORDER, _DELTA_SQLITE)  # PostgreSQL's function: 0017's
    _trigger("job_progress_marked", PROGRESS, _MARK_SQLITE)


def downgrade() -> None:
    postgresql = _postgresql()
    op.execute("DROP TRIGGER IF EXISTS job_progress_marked" + (" ON jobs" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS job_progress_marked()")
    op.drop_table("job_progress_marks")
    _trigger("job_order_moved", (*ORDER, *PROGRESS), _DELTA_SQLITE)
