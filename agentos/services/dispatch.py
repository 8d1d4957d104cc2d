"""The seam between queueing work (services) and running it (a runner backend).

Queued work lives in the database (processing_steps with status `queued`), so nothing is
lost when no runner is up: a runner started later claims it. `request_dispatch` only
wakes the runner registered in this process (embedded thread pools, or the Celery sender)
after the commit, so a worker never looks for a row that does not exist yet.
"""

from __future__ import annotations

import threading
from typing import Protocol, cast

from sqlalchemy.orm import Session

from agentos.schemas.work import QueuedStep
from agentos.services.outbox import after_commit


class Dispatcher(Protocol):
    def wake(self, agent: str) -> None: ...


class StepSender(Protocol):
    """A dispatcher that sends one message per queued step (the Celery one): a step queued
    in this process reserves its message id in its own INSERT and is sent right after the
    commit, with no separate look-up-and-reserve transaction."""

    def send_step(self, step: QueuedStep, task_id: str) -> None: ...


_dispatchers: list[Dispatcher] = []
_lock = threading.Lock()


def register_dispatcher(dispatcher: Dispatcher) -> None:
    with _lock:
        _dispatchers.append(dispatcher)


def unregister_dispatcher(dispatcher: Dispatcher) -> None:
    with _lock:
        if dispatcher in _dispatchers:
            _dispatchers.remove(dispatcher)


def wake_now(agent: str) -> None:
    with _lock:
        targets = list(_dispatchers)
    for dispatcher in targets:
        dispatcher.wake(agent)


def step_sender() -> StepSender | None:
    with _lock:
        for dispatcher in _dispatchers:
            if hasattr(dispatcher, "send_step"):
                return cast(StepSender, dispatcher)
    return None


def send_after_commit(
    session: Session, *, sender: StepSender, step: QueuedStep, task_id: str
) -> None:
    after_commit(session, lambda: sender.send_step(step, task_id))


def request_dispatch(session: Session, *, agent: str) -> None:
    """Wake the runner for `agent` once the current transaction has committed."""
    after_commit(session, lambda: wake_now(agent))
