"""Lists read a page after a cursor (a keyset) instead of an OFFSET: one index per order.

Each index holds a list's sort key followed by the id, so "the page after these values" is
one index range at any depth (agentos/db/models/listing.py declares the same indexes and
expressions; an expression index is used only for exactly its expression):

- jobs: (created_at, id) replaces (created_at); (owner_id, created_at, id) replaces
  (owner_id, created_at); (owner_id, status, created_at, id) for one owner's jobs by status
  (the list and its count); (updated_at | priority | progress | attempts, id); lower(title),
  the status in lifecycle order and the stage in pipeline order, each with the id;
- processing_steps: open work in dispatch order (running first, priority DESC, oldest
  first) and one agent's queued work, both partial; an agent's steps by the time its log
  shows, newest first;
- system_events: (source, created_at, id) replaces (source, created_at) (an agent's log).

Revision ID: 0014_keyset_list_indexes
Revises: 0013_failure_and_step_figures
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_keyset_list_indexes"
down_revision: str | None = "0013_failure_and_step_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("pending", "queued", "processing", "completed", "failed", "cancelled")
STAGES = ("ingest", "probe", "scenes", "clipper", "thumbs", "publish")
OPEN_STEPS = "status IN ('queued', 'running')"
QUEUED_STEPS = "status = 'queued'"


def _rank(column: str, values: Sequence[str]) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {rank}" for rank, value in enumerate(values))
    return f"(CASE {column} {whens} ELSE -1 END)"


JOB_INDEXES: dict[str, str] = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "priority": "priority",
    "progress": "progress",
    "attempts": "attempts",
    "title_key": "lower(title)",
    "status_rank": _rank("status", STATUSES),
    "stage_rank": _rank("current_stage", STAGES),
}


def upgrade() -> None:
    op.drop_index("ix_jobs_created_at", table_name="jobs")
    op.drop_index("ix_jobs_owner_id_created_at", table_name="jobs")
    op.create_index("ix_jobs_owner_id_created_at_id", "jobs", ["owner_id", "created_at", "id"])
    op.create_index(
        "ix_jobs_owner_id_status_created_at_id", "jobs", ["owner_id", "status", "created_at", "id"]
    )
    for name, key in JOB_INDEXES.items():
        op.create_index(f"ix_jobs_{name}_id", "jobs", [sa.text(key), "id"])
    op.create_index(
        "ix_processing_steps_open_dispatch",
        "processing_steps",
        [sa.text("status DESC"), sa.text("priority DESC"), "created_at", "id"],
        postgresql_where=sa.text(OPEN_STEPS),
        sqlite_where=sa.text(OPEN_STEPS),
    )
    op.create_index(
        "ix_processing_steps_agent_queue",
        "processing_steps",
        ["agent", sa.text("priority DESC"), "created_at", "id"],
        postgresql_where=sa.text(QUEUED_STEPS),
        sqlite_where=sa.text(QUEUED_STEPS),
    )
    op.create_index(
        "ix_processing_steps_agent_log",
        "processing_steps",
        ["agent", sa.text("coalesce(finished_at, started_at, created_at)"), "id"],
    )
    op.drop_index("ix_system_events_source_created_at", table_name="system_events")
    op.create_index(
        "ix_system_events_source_created_at_id", "system_events", ["source", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_system_events_source_created_at_id", table_name="system_events")
    op.create_index("ix_system_events_source_created_at", "system_events", ["source", "created_at"])
    for name in ("agent_log", "agent_queue", "open_dispatch"):
        op.drop_index(f"ix_processing_steps_{name}", table_name="processing_steps")
    for name in JOB_INDEXES:
        op.drop_index(f"ix_jobs_{name}_id", table_name="jobs")
    op.drop_index("ix_jobs_owner_id_status_created_at_id", table_name="jobs")
    op.drop_index("ix_jobs_owner_id_created_at_id", table_name="jobs")
    op.create_index("ix_jobs_owner_id_created_at", "jobs", ["owner_id", "created_at"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
