"""A processing job moved on by the runner in one UPDATE ... RETURNING (its hot path).

When a stage completes, the job row is locked (job first, then step: the order
`jobs.cancel` takes them in) and moved on in the same statement, before the step is
finished:
- handing on: the next stage is the job's current stage (pipeline/handover.py starts it
  on this worker);
- completing: the last stage finished, the job is `completed` (the state machine's
  processing -> completed, the only move the statement allows).
Both return what the next stage reads. If the step turns out not to be this worker's any
more, the caller rolls the transaction back; if a handover is refused, the caller's usual
path (`stages.advance`, on the ORM row) overwrites the job's stage and progress.
"""

from __future__ import annotations

import functools
import typing
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, bindparam, update
from sqlalchemy.orm import Session

from agentos.db.models import Job
from agentos.services import events

_RETURNED = (
    "id",
    "upload_id",
    "priority",
    "attempts",
    "options",
    "title",
    "source_path",
    "source_sha256",
    "source_size",
    "media_info",
    "trace_id",
)


@functools.cache
def _statement(completing: bool) -> Any:
    jobs = typing.cast(Table, Job.__table__)
    values: dict[str, Any] = {"progress": bindparam("p_progress"), "updated_at": bindparam("p_now")}
    if completing:
        values.update(status="completed", finished_at=bindparam("p_now"))
    else:
        values["current_stage"] = bindparam("p_stage")
    return (
        update(jobs)
        .where(jobs.c.id == bindparam("p_job_id"), jobs.c.status == "processing")
        .values(**values)
        .returning(*(jobs.c[name] for name in _RETURNED))
    )


def lock_processing(
    session: Session,
    *,
    job_id: uuid.UUID,
    now: datetime,
    progress: float,
    next_stage: str | None,
) -> Row[Any] | None:
    """Lock and move on a processing job: to `next_stage`, or (None) completed. None if the
    job is not processing (cancelled, failed, gone)."""
    completing = next_stage is None
    row = (
        session.connection()
        .execute(
            _statement(completing),
            {"p_job_id": job_id, "p_now": now, "p_progress": progress, "p_stage": next_stage},
        )
        .first()
    )
    if row is not None and completing:
        events.announce(
            session, "job.status", job_id=job_id, status="completed", previous="processing"
        )
    return row
