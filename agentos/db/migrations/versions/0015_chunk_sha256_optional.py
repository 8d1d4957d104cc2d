"""An upload chunk's SHA-256 is recorded only when the client declared one.

The server used to hash every chunk only to store it; a chunk that comes again is now
told apart from a changed one by comparing its bytes with the stored ones, so a chunk
sent without `X-Chunk-SHA256` costs no SHA-256 pass besides the whole file's.

Revision ID: 0015_chunk_sha256_optional
Revises: 0014_keyset_list_indexes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_chunk_sha256_optional"
down_revision: str | None = "0014_keyset_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload_chunks") as batch:
        batch.alter_column("sha256", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # A chunk with no checksum is forgotten (its upload reports it missing, and the client
    # sends it again), since the older code needs one for every chunk.
    op.execute(
        "UPDATE uploads SET received_bytes = received_bytes - (SELECT coalesce(sum(size), 0) "
        "FROM upload_chunks WHERE upload_chunks.upload_id = uploads.id "
        "AND upload_chunks.sha256 IS NULL)"
    )
    op.execute("DELETE FROM upload_chunks WHERE sha256 IS NULL")
    with op.batch_alter_table("upload_chunks") as batch:
        batch.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
