"""Jobs listed by status newest first use one index instead of filtering a date scan.

`GET /api/jobs/history?status=failed` at 1,000,000 jobs walked the created_at index
backwards and discarded ~135k rows to fill a page (p50 ~1 s); (status, created_at, id)
serves the filter and the order together. It replaces (status, priority, created_at),
which nothing orders by any more: dispatch order lives on processing_steps.

Revision ID: 0006_jobs_status_listing_index
Revises: 0005_step_rollups
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_jobs_status_listing_index"
down_revision: str | None = "0005_step_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_jobs_status_priority_created_at", table_name="jobs")
    op.create_index("ix_jobs_status_created_at_id", "jobs", ["status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_created_at_id", table_name="jobs")
    op.create_index(
        "ix_jobs_status_priority_created_at", "jobs", ["status", "priority", "created_at"]
    )
