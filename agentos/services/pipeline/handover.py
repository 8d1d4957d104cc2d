"""Handing a job's next stage straight to the worker that finished the one before.

A job going through an idle pipeline should not pay a trip through a queue (a broker
message, a consumer wake-up, a claim transaction) between every two stages. When a stage
completes, the runner that ran it may take the next stage itself, in the completing
transaction, if it serves that agent and has a slot for it (`Handover.reserve`) and the
agent may take the work now:

- the agent is enabled and the queue is not paused (the claim's own rule);
- it runs fewer steps than its concurrency;
- none of its queued steps should go first (same or higher priority): a busy agent's
  queue keeps its order, only an idle one is skipped.

The step is then inserted already `running` under that worker, and the job stays
`processing`. Otherwise the next stage is queued as usual. Temporal's eager activity
execution is the same idea.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, Protocol, cast

from sqlalchemy import Row, Table, and_, bindparam, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Agent, Job, ProcessingStep
from agentos.schemas.work import ClaimedStep
from agentos.services import events
from agentos.services.pipeline import claims


class Handover(Protocol):
    """What a runner offers `step_runner.run_step` for the next stage of the job it ran."""

    def reserve(self, agent: str) -> bool:
        """Hold a slot here for one `agent` step, if there is one now."""
        ...

    def release(self, agent: str) -> None:
        """The slot held by `reserve` went unused."""
        ...


_STEP_COLUMNS = (
    "id",
    "job_id",
    "agent",
    "attempt",
    "status",
    "priority",
    "worker_id",
    "progress",
    "created_at",
    "started_at",
    "heartbeat_at",
    "trace_id",
)


def _may_take_now(agent: Any, priority: Any) -> Any:
    waiting_first = exists().where(
        ProcessingStep.agent == agent,
        ProcessingStep.status == "queued",
        ProcessingStep.priority >= priority,
    )
    running = (
        select(func.count())
        .where(ProcessingStep.agent == agent, ProcessingStep.status == "running")
        .scalar_subquery()
    )
    limit = select(Agent.concurrency).where(Agent.name == agent).scalar_subquery()
    return and_(claims.runnable(agent), ~waiting_first, running < limit)


@functools.cache
def _start_statement(dialect: str) -> Any:
    """INSERT ... SELECT <the step> WHERE <the agent may take it now>, built once: the runner
    runs it for every stage, and building it cost more than executing it."""
    table = cast(Table, ProcessingStep.__table__)
    params = {name: bindparam(name, type_=table.c[name].type) for name in _STEP_COLUMNS}
    source = select(*params.values()).where(_may_take_now(params["agent"], params["priority"]))
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stored_config = select(Agent.config).where(Agent.name == params["agent"]).scalar_subquery()
    return (
        insert(table)
        .from_select([table.c[name] for name in _STEP_COLUMNS], source)
        .on_conflict_do_nothing(index_elements=["job_id", "agent", "attempt"])
        .returning(table.c.id, stored_config.label("config"))
    )


def take_next(
    session: Session, *, job: Job | Row[Any], agent: str, worker_id: str
) -> ClaimedStep | None:
    """Start `agent`'s step of the job (locked: `moves.lock_processing`) under `worker_id` now, or
    None if the agent may not take it now (see the module docstring); one INSERT."""
    now = utcnow()
    attempt = max(job.attempts, 1)
    values = {
        "id": uuid.uuid4(),
        "job_id": job.id,
        "agent": agent,
        "attempt": attempt,
        "status": "running",
        "priority": job.priority,
        "worker_id": worker_id,
        "progress": 0.0,
        "created_at": now,
        "started_at": now,
        "heartbeat_at": now,
        "trace_id": getattr(job, "trace_id", None),
    }
    statement = _start_statement(session.get_bind().dialect.name)
    row = session.connection().execute(statement, values).first()
    if row is None:
        return None
    events.announce(session, "job.stage", job_id=job.id, stage=agent, state="running")
    options: dict[str, Any] = dict(job.options or {})
    return ClaimedStep(
        step_id=row.id,
        job_id=job.id,
        agent=agent,
        attempt=attempt,
        worker_id=worker_id,
        started_at=now,
        job=claims.job_snapshot(job, options),
        config=claims.merged_config(agent, row.config, options),
    )
