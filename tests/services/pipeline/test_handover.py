"""Handover: a finished stage starts the job's next stage on the same worker, when that
agent is idle; otherwise the next stage is queued as before (pipeline/handover.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, select

from agentos.db.models import Job, ProcessingStep
from agentos.schemas.work import ClaimedStep, StepOutcome
from agentos.services import agents, jobs, queue
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import claims, step_runner
from agentos.services.runtime import Runtime
from agentos.settings import Settings

# A handed-over empty stage: the job locked and moved on (UPDATE ... RETURNING), the step
# finished, the next step inserted already running. No SET LOCAL on PostgreSQL: the
# runner's connections are relaxed.
MAX_STATEMENTS_PER_HANDED_STAGE = 3


class Slots:
    """A runner's side of the handover, recording what it was asked."""

    def __init__(self, *, free: set[str] | None = None) -> None:
        self.free = set(PIPELINE) if free is None else free
        self.reserved: list[str] = []
        self.released: list[str] = []

    def reserve(self, agent: str) -> bool:
        if agent in self.free:
            self.reserved.append(agent)
            return True
        return False

    def release(self, agent: str) -> None:
        self.released.append(agent)


@pytest.fixture(autouse=True)
def _empty_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentos.services.pipeline.stage_functions import STAGES

    for name in PIPELINE:
        monkeypatch.setitem(STAGES, name, lambda _context: step_runner.StageResult())


def _create(runtime: Runtime, *, priority: int = 0) -> uuid.UUID:
    with runtime.session() as session:
        return jobs.create(
            session, actor=SYSTEM_ACTOR, title="empty", source_path=None, priority=priority
        ).id


def _claim_first(runtime: Runtime, job_id: uuid.UUID, worker: str = "w1") -> ClaimedStep:
    with runtime.session() as session:
        step_id = session.scalar(select(ProcessingStep.id).where(ProcessingStep.job_id == job_id))
        assert step_id is not None
        claimed = claims.claim_step(session, step_id=step_id, worker_id=worker)
    assert claimed is not None
    return claimed


def _steps(runtime: Runtime, job_id: uuid.UUID) -> dict[str, ProcessingStep]:
    with runtime.session() as session:
        rows = session.scalars(select(ProcessingStep).where(ProcessingStep.job_id == job_id))
        return {row.agent: row for row in rows}


def _job(runtime: Runtime, job_id: uuid.UUID) -> Job:
    with runtime.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_an_idle_pipeline_runs_a_job_straight_through(settings: Settings, runtime: Runtime) -> None:
    job_id = _create(runtime)
    slots = Slots()
    outcome = step_runner.run_step(
        runtime, claimed=_claim_first(runtime, job_id), reserve_next=True, handover=slots
    )
    ran = [outcome]
    while outcome.next_claimed is not None:
        assert outcome.next_claimed.worker_id == "w1"
        assert outcome.next_claimed.job is not None  # the stage's inputs came with it
        outcome = step_runner.run_step(
            runtime, claimed=outcome.next_claimed, reserve_next=True, handover=slots
        )
        ran.append(outcome)
    assert [o.agent for o in ran] == list(PIPELINE)
    assert all(o.status == "completed" for o in ran)
    assert slots.reserved == list(PIPELINE[1:])
    assert slots.released == []
    job = _job(runtime, job_id)
    assert job.status == "completed"
    assert job.progress == 1.0
    rows = _steps(runtime, job_id)
    assert {row.status for row in rows.values()} == {"completed"}
    # Handed over, never queued: no message was reserved for any stage after the first.
    assert all(rows[agent].task_id is None for agent in PIPELINE[1:])
    assert all(rows[agent].worker_id == "w1" for agent in PIPELINE)
    assert all(rows[agent].duration_ms is not None for agent in PIPELINE)
    # The last stage completed the job in its own statement, at the step's own time.
    assert job.finished_at == rows["publish"].finished_at


def test_a_handed_over_stage_costs_a_bounded_number_of_statements(
    settings: Settings, runtime: Runtime
) -> None:
    job_id = _create(runtime)
    slots = Slots()
    first = step_runner.run_step(
        runtime, claimed=_claim_first(runtime, job_id), reserve_next=True, handover=slots
    )
    assert first.next_claimed is not None  # probe, started by ingest's completion
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        text = " ".join(statement.split())
        # Not the runner's own: SQLite's BEGIN IMMEDIATE and the embedded bus's rows.
        if not text.startswith("BEGIN") and "bus_messages" not in text:
            statements.append(text)

    engines = {runtime.engine, runtime.relaxed_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        probe = step_runner.run_step(
            runtime, claimed=first.next_claimed, reserve_next=True, handover=slots
        )
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert probe.next_claimed is not None
    assert probe.next_claimed.agent == "scenes"
    assert len(statements) <= MAX_STATEMENTS_PER_HANDED_STAGE, statements


def _outcome_of_ingest(runtime: Runtime, job_id: uuid.UUID, slots: Slots) -> StepOutcome:
    return step_runner.run_step(
        runtime, claimed=_claim_first(runtime, job_id), reserve_next=True, handover=slots
    )


def test_work_waiting_for_the_agent_goes_first(settings: Settings, runtime: Runtime) -> None:
    waiting = _create(runtime, priority=5)
    ours = _create(runtime, priority=5)
    with runtime.session() as session:  # the other job waits at probe
        step_id = session.scalar(select(ProcessingStep.id).where(ProcessingStep.job_id == waiting))
        session.execute(
            ProcessingStep.__table__.update()
            .where(ProcessingStep.id == step_id)
            .values(agent="probe")
        )
    slots = Slots()
    outcome = _outcome_of_ingest(runtime, ours, slots)
    assert outcome.status == "completed"
    assert outcome.next_claimed is None
    assert outcome.next_step is not None  # queued behind the waiting one, as before
    assert outcome.next_step.agent == "probe"
    assert slots.released == ["probe"]
    assert _steps(runtime, ours)["probe"].status == "queued"
    assert _job(runtime, ours).status == "queued"
    assert _job(runtime, ours).current_stage == "probe"


def test_a_stopped_agent_or_a_paused_queue_is_not_handed_work(
    settings: Settings, runtime: Runtime
) -> None:
    with runtime.session() as session:
        agents.stop(session, agent="probe", actor=SYSTEM_ACTOR)
    stopped = _outcome_of_ingest(runtime, _create(runtime), Slots())
    assert stopped.next_claimed is None
    assert stopped.next_step is not None
    with runtime.session() as session:
        agents.start(session, agent="probe", actor=SYSTEM_ACTOR)
    claimed = _claim_first(runtime, _create(runtime))
    with runtime.session() as session:
        queue.pause(session, actor=SYSTEM_ACTOR)
    paused = step_runner.run_step(runtime, claimed=claimed, reserve_next=True, handover=Slots())
    assert paused.status == "completed"
    assert paused.next_claimed is None


def test_an_agent_at_its_concurrency_is_not_handed_work(
    settings: Settings, runtime: Runtime
) -> None:
    with runtime.session() as session:
        agents.set_concurrency(session, agent="probe", concurrency=1, actor=SYSTEM_ACTOR)
    busy = _create(runtime)
    first = _outcome_of_ingest(runtime, busy, Slots())
    assert first.next_claimed is not None  # probe now runs for `busy`: the one slot
    second = _outcome_of_ingest(runtime, _create(runtime), Slots())
    assert second.next_claimed is None
    assert second.next_step is not None


def test_no_slot_here_means_no_handover(settings: Settings, runtime: Runtime) -> None:
    slots = Slots(free=set())
    outcome = _outcome_of_ingest(runtime, _create(runtime), slots)
    assert outcome.next_claimed is None
    assert outcome.next_step is not None
    assert slots.reserved == slots.released == []


def test_a_cancelled_job_is_not_handed_on(settings: Settings, runtime: Runtime) -> None:
    job_id = _create(runtime)
    claimed = _claim_first(runtime, job_id)
    with runtime.session() as session:
        jobs.cancel(session, job_id=job_id, actor=SYSTEM_ACTOR)
    slots = Slots()
    outcome = step_runner.run_step(runtime, claimed=claimed, reserve_next=True, handover=slots)
    assert outcome.status == "cancelled"
    assert outcome.next_claimed is None
    assert slots.released == ["probe"]
    assert set(_steps(runtime, job_id)) == {"ingest"}
    job = _job(runtime, job_id)
    assert job.status == "cancelled"
    assert job.current_stage == "ingest"


def test_the_message_of_a_finished_step_recovers_the_stages_handed_over_after_it(
    settings: Settings,
    runtime: Runtime,
) -> None:
    job_id = _create(runtime)
    slots = Slots()
    outcome = _outcome_of_ingest(runtime, job_id, slots)
    assert outcome.next_claimed is not None
    ingest = _steps(runtime, job_id)["ingest"]
    with runtime.session() as session:
        later = claims.handed_over_after(session, step_id=ingest.id)
    assert later == outcome.next_claimed.step_id
