"""A backup records what it holds: kind, schema revision, audit chain head, timings.

`system.restore` refuses a backup from a newer schema and exports the audit records
written after `audit_seq` before it restores (services/system/restore.py).

Revision ID: 0008_backup_catalog
Revises: 0007_audit_keyed_chain
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_backup_catalog"
down_revision: str | None = "0007_audit_keyed_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("schema_revision", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("audit_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        for column in ("finished_at", "started_at", "audit_seq", "schema_revision", "kind"):
            batch.drop_column(column)
