"""A step's Celery message: when its id was reserved, and when it was confirmed sent.

A reservation never confirmed (its sender died between the commit and the send) is sent
again after `celery_send_grace_s` (services/pipeline/sending.py).

Revision ID: 0011_step_message_confirmation
Revises: 0010_trace_and_log_store
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_step_message_confirmation"
down_revision: str | None = "0010_trace_and_log_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("task_reserved_at", "task_sent_at")


def upgrade() -> None:
    # Plain ALTER TABLE: a SQLite batch would drop the triggers on processing_steps.
    for column in COLUMNS:
        op.add_column(
            "processing_steps", sa.Column(column, sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE processing_steps DROP COLUMN {column}")
