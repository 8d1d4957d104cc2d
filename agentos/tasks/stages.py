"""The one stage task: run a queued processing step. A thin wrapper over the services."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from celery import shared_task

from agentos import telemetry
from agentos.schemas.work import ClaimedStep, StepOutcome
from agentos.services.pipeline import claims, sending, step_runner, workers
from agentos.services.runtime import Runtime
from agentos.tasks.app import RUN_STEP, AgentOSTask
from agentos.tasks.dispatcher import send_reserved

logger = logging.getLogger(__name__)


@shared_task(name=RUN_STEP, bind=True, base=AgentOSTask, acks_late=True, ignore_result=True)
def run_step(self: AgentOSTask, step_id: str, agent: str | None = None) -> dict[str, Any]:
    """Claim the step (or take it over from a dead worker) and run it; else do nothing.

    A redelivered message for a step that already finished, or that a live worker runs,
    claims nothing: that is what makes redelivery safe.
    """
    runtime = self.runtime
    worker_id = self.request.hostname or workers.default_worker_name("celery")
    claimed = _claim(runtime, uuid.UUID(step_id), worker_id)
    if claimed is None:
        return {"step_id": step_id, "status": "skipped"}
    handover = ConsumedQueues(self.app)
    ran: list[StepOutcome] = []
    current: ClaimedStep | None = claimed
    while current is not None:
        # A next stage started here by the completing commit (pipeline/handover.py) runs at
        # once: an idle pipeline runs a job straight through without a queue between stages.
        started = time.perf_counter()
        outcome = step_runner.run_step(
            runtime, claimed=current, reserve_next=True, handover=handover
        )
        telemetry.stage(current.agent, outcome.status, time.perf_counter() - started)
        ran.append(outcome)
        current = outcome.next_claimed
    if outcome.next_step is not None and outcome.next_task_id is not None:
        # Reserved in the completing commit: the next stage's message goes out right now,
        # from here, like the next link of a Celery chain.
        send_reserved(self.app, runtime, outcome.next_step, outcome.next_task_id)
    return {
        "step_id": step_id,
        "status": ran[0].status,
        "stages": [item.model_dump(mode="json", exclude={"next_claimed"}) for item in ran],
    }


class ConsumedQueues:
    """A Celery worker takes a job's next stage itself when it consumes that agent's queue
    (as of its start: a prefork child does not see a later `cancel_consumer`, but a stopped
    agent is refused by the handover's own check of the agents table). The slot is the one
    the finished stage leaves, so there is nothing to hold or release."""

    def __init__(self, app: Any) -> None:
        self._queues = set(app.amqp.queues.consume_from)

    def reserve(self, agent: str) -> bool:
        return agent in self._queues

    def release(self, agent: str) -> None:
        return None


def _claim(runtime: Runtime, step_id: uuid.UUID, worker_id: str) -> ClaimedStep | None:
    with runtime.session(relaxed=True) as session:
        claimed = claims.claim_step(session, step_id=step_id, worker_id=worker_id)
        if claimed is None:
            claimed = claims.take_over(session, step_id=step_id, worker_id=worker_id)
        if claimed is None:
            # The message of a step that finished, redelivered because its worker died: the
            # stages handed over after it ran on that worker with no message of their own.
            later = claims.handed_over_after(session, step_id=step_id)
            if later is not None:
                claimed = claims.take_over(session, step_id=later, worker_id=worker_id)
        if claimed is None:
            # Queued but not runnable now (agent stopped, queue paused): forget this
            # message so the step is sent again once it may run.
            sending.release_sent(session, step_id=step_id)
    return claimed
