"""The audit chain head: one row (id 1) holding the last record's seq and hash.

Appenders advance it with one UPDATE whose row lock orders them (see
agentos/services/security/audit.py for why a row and not an advisory lock). It starts at
the record with the highest seq already in audit_log, or at the genesis hash.

Revision ID: 0004_audit_chain_head
Revises: 0003_job_rollups
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit_chain_head"
down_revision: str | None = "0003_job_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.execute(
        "INSERT INTO audit_chain_head (id, seq, prev_hash, hash) "
        f"SELECT 1, coalesce(max(seq), 0), '{GENESIS_HASH}', "
        f"coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '{GENESIS_HASH}') "
        "FROM audit_log"
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
