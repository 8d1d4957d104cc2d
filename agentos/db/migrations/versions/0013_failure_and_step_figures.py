"""Exact failure, retry and per-agent figures (`GET /api/admin/ssot/figures`) read off
indexes instead of samples:

- `ix_jobs_failed_error_code`: failed jobs only (partial), (status, error_code,
  finished_at, current_stage) covers the GROUP BY error_code and a code's newest jobs;
- `ix_processing_steps_agent_finished_at_status_duration_ms` replaces (agent,
  finished_at): one agent's counts and percentiles per hour over a time window, read off
  the index alone (what used (agent, finished_at) is served as before);
- `ix_processing_steps_retry_waiting`: queued steps past their first attempt (partial),
  the retries waiting in the order they may start;
- `processing_steps.error_code`: why an attempt failed, so its retry can say so.

Revision ID: 0013_failure_and_step_figures
Revises: 0012_log_alert_index
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_failure_and_step_figures"
down_revision: str | None = "0012_log_alert_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILED = "status = 'failed'"
RETRY_WAITING = "status = 'queued' AND attempt > 1"
WINDOW_INDEX = "ix_processing_steps_agent_finished_at_status_duration_ms"


def upgrade() -> None:
    # Plain ALTER TABLE: a SQLite batch would drop the triggers on processing_steps.
    op.add_column("processing_steps", sa.Column("error_code", sa.String(64), nullable=True))
    op.create_index(
        "ix_jobs_failed_error_code",
        "jobs",
        ["status", "error_code", "finished_at", "current_stage"],
        postgresql_where=sa.text(FAILED),
        sqlite_where=sa.text(FAILED),
    )
    op.create_index(
        WINDOW_INDEX, "processing_steps", ["agent", "finished_at", "status", "duration_ms"]
    )
    op.drop_index("ix_processing_steps_agent_finished_at", table_name="processing_steps")
    op.create_index(
        "ix_processing_steps_retry_waiting",
        "processing_steps",
        ["status", "created_at", "job_id", "agent", "attempt"],
        postgresql_where=sa.text(RETRY_WAITING),
        sqlite_where=sa.text(RETRY_WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_processing_steps_retry_waiting", table_name="processing_steps")
    op.create_index(
        "ix_processing_steps_agent_finished_at", "processing_steps", ["agent", "finished_at"]
    )
    op.drop_index(WINDOW_INDEX, table_name="processing_steps")
    op.drop_index("ix_jobs_failed_error_code", table_name="jobs")
    op.execute("ALTER TABLE processing_steps DROP COLUMN error_code")
