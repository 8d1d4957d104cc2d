"""The jobs' expression indexes carry the column their expression reads (PostgreSQL).

PostgreSQL answers a query from an index alone (an index-only scan) only when the index
holds every column the query reads. An index on `lower(title)` holds the expression's
values, not `title`, so a page by number sorted by title fetched every row it skipped
from the table: page 25,000 of 1,000,000 jobs took about 900 ms. With `title` included
(`INCLUDE`, stored in the index's leaves, not part of its key) the skip reads the index
only. The same for the status and stage ranks. SQLite has no INCLUDE: nothing changes there.

Revision ID: 0016_covering_expression_indexes
Revises: 0015_chunk_sha256_optional
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_covering_expression_indexes"
down_revision: str | None = "0015_chunk_sha256_optional"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expressions exactly as 0014 created them (a migration, as frozen as this one).
_created = importlib.import_module("agentos.db.migrations.versions.0014_keyset_list_indexes")
# index name: the column its key expression reads
COVERED: dict[str, str] = {
    "title_key": "title",
    "status_rank": "status",
    "stage_rank": "current_stage",
}


def _rebuild(*, covering: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column in COVERED.items():
        op.drop_index(f"ix_jobs_{name}_id", table_name="jobs")
        key = sa.text(_created.JOB_INDEXES[name])
        include = [column] if covering else []
        op.create_index(f"ix_jobs_{name}_id", "jobs", [key, "id"], postgresql_include=include)


def upgrade() -> None:
    _rebuild(covering=True)


def downgrade() -> None:
    _rebuild(covering=False)
