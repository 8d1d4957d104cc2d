"""A step queued in a process with a Celery sender reserves its message in its own INSERT
and is sent right after the commit (`dispatch.step_sender`); other runners are woken."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from agentos.db.models import ProcessingStep
from agentos.schemas.work import QueuedStep
from agentos.services import jobs
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.runtime import Runtime
from agentos.settings import Settings


class Sender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sent: list[tuple[QueuedStep, str, str | None]] = []
        self.woken: list[str] = []

    def wake(self, agent: str) -> None:
        self.woken.append(agent)

    def send_step(self, step: QueuedStep, task_id: str) -> None:
        # What a worker would see at this moment: the row, committed, with this message id.
        with self.runtime.session() as session:
            stored = session.scalar(
                select(ProcessingStep.task_id).where(ProcessingStep.id == step.step_id)
            )
        self.sent.append((step, task_id, stored))


class Waker:
    def __init__(self) -> None:
        self.woken: list[str] = []

    def wake(self, agent: str) -> None:
        self.woken.append(agent)


@pytest.fixture
def sender(runtime: Runtime) -> Iterator[Sender]:
    registered = Sender(runtime)
    runtime.dispatch.register(registered)
    yield registered
    runtime.dispatch.unregister(registered)


def test_a_new_job_reserves_and_sends_its_first_message_after_the_commit(
    settings: Settings, runtime: Runtime, sender: Sender
) -> None:
    with runtime.session() as session:
        job = jobs.create(session, actor=SYSTEM_ACTOR, title="first", source_path=None)
        assert sender.sent == []  # nothing goes out before the commit
    assert len(sender.sent) == 1
    step, task_id, stored = sender.sent[0]
    assert step.job_id == job.id
    assert step.agent == "ingest"
    assert stored == task_id  # reserved in the INSERT, visible when sent
    assert sender.woken == []  # no wake-up, no look-up-and-reserve pass
    assert job.status.value == "queued"


def test_a_rolled_back_job_sends_nothing(
    settings: Settings, runtime: Runtime, sender: Sender
) -> None:
    with pytest.raises(RuntimeError), runtime.session() as session:  # noqa: PT012
        jobs.create(session, actor=SYSTEM_ACTOR, title="undone", source_path=None)
        raise RuntimeError("roll back")
    assert sender.sent == []


def test_without_a_sender_the_runner_is_woken_and_no_message_is_reserved(
    settings: Settings,
    runtime: Runtime,
) -> None:
    waker = Waker()
    runtime.dispatch.register(waker)
    try:
        with runtime.session() as session:
            job = jobs.create(session, actor=SYSTEM_ACTOR, title="embedded", source_path=None)
    finally:
        runtime.dispatch.unregister(waker)
    assert waker.woken == ["ingest"]
    with runtime.session() as session:
        task_id = session.scalar(
            select(ProcessingStep.task_id).where(ProcessingStep.job_id == job.id)
        )
    assert task_id is None
