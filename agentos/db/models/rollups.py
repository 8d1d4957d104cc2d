"""Job and clip counts kept up to date without scanning: insert-only deltas and a rollup.

Every write to `jobs` (the state machine, creation, deletion, bulk loads, raw SQL) adds
rows to `job_status_deltas` in the same transaction, through triggers created by migration
0003: per `basis` ("created": the hour a job was created; "finished": the hour it finished,
for jobs with a finish time; "clips": the hour a clip was created), the hour, the status
and +1 / -1; a change in any other column a job list is ordered or filtered by adds a 0
under "moved" (migration 0017: the list anchors see every change that moves a job in a
list). A change of the columns the pipeline moves at every step (update time, progress,
attempts, stage) adds a row to `job_progress_marks` instead (migration 0019), so only the
lists ordered by them see it. On PostgreSQL every job write a list can see adds a mark with
the values before (0021): the lists' anchors are corrected by them, not retired. Writers
only ever insert, so there is no hot counter row to contend on.
`agentos.services.jobs.rollups.compact` folds the deltas into `job_status_rollup`; readers add rollup and the few uncompacted deltas.

The extra index on jobs serves the exact edges of rolling windows ("completed in the last
hour"), which the hourly rollup cannot answer alone.

Processing steps get the same treatment per (agent, status) (`step_status_deltas`,
`step_status_rollup`, triggers from migration 0005): the agents and queue sections read
how many steps wait and run per agent without counting them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from agentos.db.base import Base, BigIntId
from agentos.db.models.jobs import Job, ProcessingStep

BASES = ("created", "finished", "clips")


class JobStatusDelta(Base):
    __tablename__ = "job_status_deltas"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    basis: Mapped[str] = mapped_column(String(8))
    hour: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(Integer)


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (`pg_current_xact_id()`)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "xid8"


class JobProgressMark(Base):
    """A job changed in a column a list is ordered by the pipeline moves (0019). On
    PostgreSQL one row per job created, deleted or changed in any column a list is ordered
    or filtered by, with the job, the writing transaction and the values before (0021;
    `old_created_at` NULL: the job did not exist)."""

    __tablename__ = "job_progress_marks"
    # A correction reads the marks from its snapshot's oldest running transaction on.
    __table_args__ = (Index("ix_job_progress_marks_xact", "xact"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID | None]
    xact: Mapped[int | None] = mapped_column(BigInteger().with_variant(Xid8(), "postgresql"))
    old_created_at: Mapped[datetime | None]
    old_status: Mapped[str | None] = mapped_column(String(16))
    old_owner_id: Mapped[uuid.UUID | None]
    old_title: Mapped[str | None] = mapped_column(String(255))
    old_priority: Mapped[int | None] = mapped_column(Integer)
    old_updated_at: Mapped[datetime | None]
    old_progress: Mapped[float | None] = mapped_column(Float)
    old_attempts: Mapped[int | None] = mapped_column(Integer)
    old_current_stage: Mapped[str | None] = mapped_column(String(32))


class JobStatusRollup(Base):
    __tablename__ = "job_status_rollup"

    basis: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class StepStatusDelta(Base):
    """+1 / -1 per processing step entering or leaving an (agent, status); migration 0005."""

    __tablename__ = "step_status_deltas"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(Integer)


class StepStatusRollup(Base):
    __tablename__ = "step_status_rollup"

    agent: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


# Declared here, with the rollup they complement, rather than in jobs.py: the rolling
# windows' partial hour, and the waiting/running steps per agent (a small slice of a big
# table, so partial indexes).
Index("ix_jobs_status_finished_at", Job.status, Job.finished_at)
Index(
    "ix_processing_steps_queued_agent",
    ProcessingStep.agent,
    ProcessingStep.created_at,
    postgresql_where=ProcessingStep.status == "queued",
    sqlite_where=ProcessingStep.status == "queued",
)
Index(
    "ix_processing_steps_running_agent",
    ProcessingStep.agent,
    ProcessingStep.started_at,
    postgresql_where=ProcessingStep.status == "running",
    sqlite_where=ProcessingStep.status == "running",
)
