"""The sort keys of the lists the API pages through, and the indexes that serve them.

Every list is read a page at a time with a keyset (agentos/db/keyset.py): "the rows after
these sort values", which is one index range when an index holds the sort values followed
by the id. The expressions are defined once here: an expression index is used only when the
query says exactly what the index says. Migration 0014 creates these indexes with the same
SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Index, func, text
from sqlalchemy.sql.elements import Grouping

from agentos.db.keyset import ranked
from agentos.db.models.jobs import Job, ProcessingStep
from agentos.schemas.agents import CONFIG_MODELS
from agentos.schemas.jobs import JOB_STATUSES

# The pipeline's stages in order (CONFIG_MODELS lists them so; the stage catalogue in
# services/jobs/catalog.py is checked against this in tests/db).
STAGES: tuple[str, ...] = tuple(CONFIG_MODELS)

# Statuses in their lifecycle order, stages in pipeline order (no stage first), titles
# ignoring case: what `sort=status|current_stage|title` means.
JOB_STATUS_RANK: ColumnElement[int] = ranked(Job.status, JOB_STATUSES, other=-1)
JOB_STAGE_RANK: ColumnElement[int] = ranked(Job.current_stage, STAGES, other=-1)
JOB_TITLE_KEY: ColumnElement[Any] = func.lower(Job.title)

# What an agent's log line is dated by: a step's finish, else its start, else its creation.
STEP_LOG_AT: ColumnElement[Any] = func.coalesce(
    ProcessingStep.finished_at, ProcessingStep.started_at, ProcessingStep.created_at
)

# Open work (the queue views) is a small slice of processing_steps: partial indexes.
OPEN_STEPS_SQL = "status IN ('queued', 'running')"
QUEUED_STEPS_SQL = "status = 'queued'"

# jobs: one (sort key, id) index per order `GET /api/jobs/history` offers; the owner and
# status filters have (owner_id | status, created_at, id) for the default order, and one
# owner's jobs in some statuses (a user's failed jobs) theirs: that list and its count read
# only those rows.
Index("ix_jobs_owner_id_status_created_at_id", Job.owner_id, Job.status, Job.created_at, Job.id)
for _name, _key in (
    ("created_at", Job.created_at),
    ("updated_at", Job.updated_at),
    ("priority", Job.priority),
    ("progress", Job.progress),
    ("attempts", Job.attempts),
):
    Index(f"ix_jobs_{_name}_id", _key, Job.id)
# An expression's index also holds the column the expression reads (PostgreSQL's INCLUDE),
# so that a page by number deep in that order skips rows in the index alone (migration 0016).
for _name, _expression, _column in (
    ("title_key", JOB_TITLE_KEY, "title"),
    # PostgreSQL takes an expression other than a function call only in parentheses.
    ("status_rank", Grouping(JOB_STATUS_RANK), "status"),
    ("stage_rank", Grouping(JOB_STAGE_RANK), "current_stage"),
):
    Index(f"ix_jobs_{_name}_id", _expression, Job.id, postgresql_include=[_column])

# processing_steps: the queue in dispatch order (running first), an agent's queue, and an
# agent's log (its steps newest first).
Index(
    "ix_processing_steps_open_dispatch",
    ProcessingStep.status.desc(),
    ProcessingStep.priority.desc(),
    ProcessingStep.created_at,
    ProcessingStep.id,
    postgresql_where=text(OPEN_STEPS_SQL),
    sqlite_where=text(OPEN_STEPS_SQL),
)
Index(
    "ix_processing_steps_agent_queue",
    ProcessingStep.agent,
    ProcessingStep.priority.desc(),
    ProcessingStep.created_at,
    ProcessingStep.id,
    postgresql_where=text(QUEUED_STEPS_SQL),
    sqlite_where=text(QUEUED_STEPS_SQL),
)
Index("ix_processing_steps_agent_log", ProcessingStep.agent, STEP_LOG_AT, ProcessingStep.id)
