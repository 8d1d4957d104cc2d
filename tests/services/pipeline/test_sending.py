"""Reserved messages are confirmed in batches; an unconfirmed one is taken again after the
grace period (its sender died between the commit and the send), a confirmed one never."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from agentos.db.models import ProcessingStep
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import claims, sending
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.pipeline import make_video, steps, submit

AGENTS = set(PIPELINE)


def _reserved(runtime: Runtime, tmp_path: Path) -> tuple[uuid.UUID, uuid.UUID, str]:
    job_id = submit(runtime, make_video(tmp_path))
    (step,) = steps(runtime, job_id)
    task_id = str(uuid.uuid4())
    with runtime.session() as session:
        assert sending.mark_sent(session, step_id=step.id, task_id=task_id)
    return job_id, step.id, task_id


def _age_reservation(runtime: Runtime, step_id: uuid.UUID, seconds: float) -> None:
    with runtime.session() as session:
        session.execute(
            update(ProcessingStep)
            .where(ProcessingStep.id == step_id)
            .values(task_reserved_at=claims.now() - timedelta(seconds=seconds))
        )


def _unsent(runtime: Runtime) -> set[uuid.UUID]:
    with runtime.session() as session:
        return {step.step_id for step in sending.queued_unsent(session, agents=AGENTS)}


def test_an_unconfirmed_reservation_is_taken_again_after_the_grace(
    settings: Settings, make_runtime: Callable[[Settings], Runtime], tmp_path: Path
) -> None:
    runtime = make_runtime(settings.model_copy(update={"celery_send_grace_s": 30.0}))
    _job, step_id, task_id = _reserved(runtime, tmp_path)
    assert step_id not in _unsent(runtime)  # within the grace: its sender may still send
    with runtime.session() as session:
        assert not sending.mark_sent(session, step_id=step_id, task_id="someone-else")
    _age_reservation(runtime, step_id, 31)
    assert step_id in _unsent(runtime)
    with runtime.session() as session:
        assert sending.mark_sent(session, step_id=step_id, task_id="second-try")
    with runtime.session() as session:
        # The first (lost) message's confirmation cannot confirm the new reservation.
        assert sending.confirm_sent(session, [task_id]) == 0
    (row,) = steps(runtime, _job)
    assert (row.task_id, row.task_sent_at) == ("second-try", None)


def test_a_confirmed_message_is_never_sent_again(
    settings: Settings, make_runtime: Callable[[Settings], Runtime], tmp_path: Path
) -> None:
    runtime = make_runtime(settings.model_copy(update={"celery_send_grace_s": 30.0}))
    job_id, step_id, task_id = _reserved(runtime, tmp_path)
    ledger = sending.ledger_of(runtime)
    ledger.record(task_id)
    ledger.flush()
    (row,) = steps(runtime, job_id)
    assert row.task_sent_at is not None
    _age_reservation(runtime, step_id, 3600)
    assert step_id not in _unsent(runtime)


def test_releasing_a_message_forgets_its_reservation(runtime: Runtime, tmp_path: Path) -> None:
    job_id, step_id, _task = _reserved(runtime, tmp_path)
    with runtime.session() as session:
        sending.release_sent(session, step_id=step_id)
    (row,) = steps(runtime, job_id)
    assert (row.task_id, row.task_reserved_at, row.task_sent_at) == (None, None, None)
    assert step_id in _unsent(runtime)
