"""The audit chain is keyed: records from `keyed_from_seq` on are hashed with an HMAC whose
key the database does not hold, and the chain head is protected like the log itself.

- `audit_chain_head.keyed_from_seq`: the first seq hashed with the key (records before it,
  written by earlier versions, keep their plain SHA-256 links; the first keyed record
  links to the last of them, so they cannot be rewritten either).
- The head row may only advance by one record at a time (seq + 1, prev_hash = the old
  hash, keyed_from_seq unchanged), and can be neither deleted nor truncated.
- PostgreSQL computes the keyed hash inside the append statement with pgcrypto's `hmac()`
  (the key travels with the statement, it is not stored).

Revision ID: 0007_audit_keyed_chain
Revises: 0006_jobs_status_listing_index
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_audit_keyed_chain"
down_revision: str | None = "0006_jobs_status_listing_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_chain_head_advance_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq = OLD.seq + 1
       AND NEW.prev_hash = OLD.hash AND NEW.keyed_from_seq = OLD.keyed_from_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_chain_head only advances one record at a time: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_chain_head_guard BEFORE UPDATE OR DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_advance_only()",
    "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_advance_only()",
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_chain_head_guard BEFORE UPDATE ON audit_chain_head "
    "WHEN NOT (NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND NEW.prev_hash = OLD.hash "
    "AND NEW.keyed_from_seq = OLD.keyed_from_seq) "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head only advances one record at a time'); END",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head cannot be deleted'); END",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.add_column(
            sa.Column("keyed_from_seq", sa.BigInteger(), nullable=False, server_default="1")
        )
    op.execute("UPDATE audit_chain_head SET keyed_from_seq = seq + 1")
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_chain_head")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_chain_head")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head_advance_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_guard")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_no_delete")
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.drop_column("keyed_from_seq")
