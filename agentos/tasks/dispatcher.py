"""Sending Celery messages for queued steps.

Design (the simplest one that stays correct): queued work lives in `processing_steps`;
a Celery message is only a nudge that names one step. A process that queues work (the
server, a local CLI, a worker finishing a stage) has a `CeleryDispatcher` registered, so
`dispatch.request_dispatch` calls `wake(agent)` right after the commit. `wake` reserves
each unsent queued step with a conditional UPDATE (`task_id IS NULL` -> a new id) and
sends `run_step` for the ones it reserved, so two processes never send the same step
twice. Each process confirms the messages it sent in batches (`pipeline/sending.py`); a
reservation never confirmed (its sender died between the commit and the send) is sent
again after `settings.celery_send_grace_s`. Steps of a stopped agent or a paused queue are not sent; a worker that receives
one anyway clears its `task_id` and drops the message. Anything missed (a process that
queued work without a dispatcher, an agent started again) is picked up by the sweep
every worker runs every `settings.celery_dispatch_sweep_s`. A duplicate message is
harmless: `run_step` claims a step only while it is queued.

The hot paths skip all of that:
- a step queued in a process with a `CeleryDispatcher` (a job created by the server)
  reserves its message id in its own INSERT and is sent right after the commit
  (`send_step`, see `dispatch.step_sender`);
- a worker finishing a stage whose next agent it also consumes starts that stage itself,
  with no message at all (pipeline/handover.py), when the agent is idle;
- otherwise it reserves the next step's message id in the completing commit
  (`step_runner.run_step(reserve_next=True)`) and sends it right after with `send_reserved`,
  like the next link of a Celery chain.
"""

from __future__ import annotations

import logging
import uuid

from celery import Celery

from agentos.schemas.work import QueuedStep
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import claims, sending
from agentos.services.runtime import Runtime
from agentos.tasks.app import RUN_STEP

logger = logging.getLogger(__name__)


def celery_priority(priority: int) -> int:
    """Job priority (higher first) -> a kombu Redis priority (0 is served first)."""
    if priority >= 50:
        return 0
    if priority > 0:
        return 3
    return 6 if priority == 0 else 9


class CeleryDispatcher:
    def __init__(self, runtime: Runtime, app: Celery) -> None:
        self.runtime = runtime
        self.app = app

    def wake(self, agent: str) -> None:
        self.send_pending({agent})

    def send_step(self, step: QueuedStep, task_id: str) -> None:
        """Send the message reserved for `step` in the commit that queued it."""
        send_reserved(self.app, self.runtime, step, task_id)

    def send_pending(self, agents: set[str] | None = None) -> int:
        """Send `run_step` for every unsent queued step of `agents` that may run now."""
        wanted = set(agents or PIPELINE)
        reserved: list[tuple[QueuedStep, str]] = []
        with self.runtime.session(relaxed=True) as session:
            runnable = claims.runnable_agents(session, wanted)
            if not runnable:
                return 0
            for step in sending.queued_unsent(session, agents=runnable):
                task_id = str(uuid.uuid4())
                if sending.mark_sent(session, step_id=step.step_id, task_id=task_id):
                    reserved.append((step, task_id))
        for step, task_id in reserved:
            send_reserved(self.app, self.runtime, step, task_id)
        return len(reserved)


def send_reserved(app: Celery, runtime: Runtime, step: QueuedStep, task_id: str) -> bool:
    """Send the `run_step` message whose id was reserved on the step; on failure forget the
    reservation so the sweep sends it again."""
    try:
        app.send_task(
            RUN_STEP,
            args=[str(step.step_id)],
            kwargs={"agent": step.agent},
            task_id=task_id,
            queue=step.agent,
            routing_key=step.agent,
            priority=celery_priority(step.priority),
            # The request's trace id travels with the message (the step row has it too).
            headers={"trace_id": step.trace_id, "job_id": str(step.job_id)},
        )
    except Exception:
        logger.exception("could not send step %s; it will be sent again", step.step_id)
        with runtime.session() as session:
            sending.release_sent(session, step_id=step.step_id)
        return False
    sending.ledger_of(runtime).record(task_id)
    return True
