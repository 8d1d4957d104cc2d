"""A runtime setting's change records why it was made (`config.history`).

Revision ID: 0009_settings_history_reason
Revises: 0008_backup_catalog
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_settings_history_reason"
down_revision: str | None = "0008_backup_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settings_history") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settings_history") as batch:
        batch.drop_column("reason")
