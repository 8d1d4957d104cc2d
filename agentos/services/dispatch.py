"""The seam between queueing work (services) and running it (a runner backend).

Queued work lives in the database (processing_steps with status `queued`), so nothing is
lost when no runner is up: a runner started later claims it. `request_dispatch` only
wakes the runners registered on the session's runtime (embedded thread pools, or the
Celery sender) after the commit, so a worker never looks for a row that does not exist yet.
"""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy.orm import Session

from agentos.schemas.work import QueuedStep
from agentos.services.outbox import after_commit
from agentos.services.runtime import Dispatchers, runtime_of


class StepSender(Protocol):
    """A dispatcher that sends one message per queued step (the Celery one): a step queued
    in this process reserves its message id in its own INSERT and is sent right after the
    commit, with no separate look-up-and-reserve transaction."""

    def wake(self, agent: str) -> None: ...
    def send_step(self, step: QueuedStep, task_id: str) -> None: ...


def wake_now(dispatchers: Dispatchers, agent: str) -> None:
    for dispatcher in dispatchers.all():
        dispatcher.wake(agent)


def step_sender(session: Session) -> StepSender | None:
    for dispatcher in runtime_of(session).dispatch.all():
        if hasattr(dispatcher, "send_step"):
            return cast(StepSender, dispatcher)
    return None


def send_after_commit(
    session: Session, *, sender: StepSender, step: QueuedStep, task_id: str
) -> None:
    after_commit(session, lambda: sender.send_step(step, task_id))


def request_dispatch(session: Session, *, agent: str) -> None:
    """Wake the runners for `agent` once the current transaction has committed."""
    dispatchers = runtime_of(session).dispatch
    after_commit(session, lambda: wake_now(dispatchers, agent))
