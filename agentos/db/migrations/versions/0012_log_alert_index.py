"""Log records at WARNING and above get their own time index (`logs.search level=WARNING`
over millions of records reads only those, in order).

Revision ID: 0012_log_alert_index
Revises: 0011_step_message_confirmation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_log_alert_index"
down_revision: str | None = "0011_step_message_confirmation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALERTS = "level IN ('WARNING', 'ERROR', 'CRITICAL')"


def upgrade() -> None:
    op.create_index(
        "ix_log_records_alert_created_at",
        "log_records",
        ["created_at"],
        postgresql_where=sa.text(ALERTS),
        sqlite_where=sa.text(ALERTS),
    )


def downgrade() -> None:
    op.drop_index("ix_log_records_alert_created_at", table_name="log_records")
