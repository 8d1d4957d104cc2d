"""The six stages run by `step_runner.run_step`, driven in the test thread, on both deployments."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from agentos.db.models import Agent, ProcessingStep
from agentos.schemas.jobs import JobOptions
from agentos.schemas.work import ClaimedStep, StepOutcome
from agentos.services import jobs, queue
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import claims, sending, step_runner, workers
from agentos.services.pipeline.monitor import StageMonitor
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.pipeline import (
    assert_completed_pipeline,
    clips,
    drive,
    job_row,
    make_video,
    steps,
    submit,
    wait_for,
)


def test_full_pipeline_makes_one_clip_per_scene(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    job_id = submit(runtime, make_video(tmp_path))
    outcomes = drive(runtime)
    assert outcomes == [
        f"{agent}:completed"
        for agent in ("ingest", "probe", "scenes", "clipper", "thumbs", "publish")
    ]
    assert_completed_pipeline(runtime, job_id)
    job = job_row(runtime, job_id)
    assert job.media_info is not None
    assert job.media_info["fps"] == 25
    assert job.source_path is not None
    assert "/media/" in job.source_path


def test_corrupt_upload_fails_at_probe_with_a_clear_error(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    bogus = tmp_path / "holiday.mp4"
    bogus.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    healthy = submit(runtime, make_video(tmp_path))
    broken = submit(runtime, bogus)
    drive(runtime)
    job = job_row(runtime, broken)
    assert job.status == "failed"
    assert job.error_code in {"CORRUPT_MEDIA", "UNSUPPORTED_MEDIA"}
    assert job.error
    assert "probe" in job.error
    by_agent = {s.agent: s.status for s in steps(runtime, broken)}
    assert by_agent == {"ingest": "completed", "probe": "failed"}
    assert_completed_pipeline(runtime, healthy)


def _set_clipper(runtime: Runtime, config: dict[str, float]) -> None:
    with runtime.session() as session:
        session.execute(update(Agent).where(Agent.name == "clipper").values(config=config))


def test_retry_resumes_at_the_failed_stage(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    job_id = submit(runtime, make_video(tmp_path), options=JobOptions())
    _set_clipper(runtime, {"min_clip_s": 5.0, "max_clip_s": 1.0})  # impossible bounds
    drive(runtime)
    job = job_row(runtime, job_id)
    assert job.status == "failed"
    assert job.error_code == "BAD_PARAMETER"
    _set_clipper(runtime, {"min_clip_s": 0.5, "max_clip_s": 30.0})
    with runtime.session() as session:
        jobs.retry(session, job_id=job_id, actor=SYSTEM_ACTOR)
    outcomes = drive(runtime)
    assert outcomes[0] == "clipper:completed"
    assert_completed_pipeline(runtime, job_id)
    attempts = [(s.agent, s.status) for s in steps(runtime, job_id)]
    for agent in ("ingest", "probe", "scenes"):
        assert attempts.count((agent, "completed")) == 1
    assert ("clipper", "failed") in attempts


def test_redelivered_and_resumed_steps_do_no_double_work(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    job_id = submit(runtime, make_video(tmp_path))
    for _ in range(3):  # ingest, probe, scenes
        drive(runtime, limit=1)
    with runtime.session() as session:
        claimed = claims.claim_next(session, agents={"clipper"}, worker_id="crashy")
    assert claimed is not None
    # The clipper writes every file, then its worker dies before recording anything.
    from agentos.services.pipeline.stage_functions import STAGES

    context = step_runner._load_context(runtime, claimed, StageMonitor(runtime, claimed))
    assert context is not None
    STAGES["clipper"](context)
    with runtime.session() as session:
        workers.worker_heartbeat(session, name="crashy", kind="test", agents=[], concurrency=1)
        workers.worker_offline(session, name="crashy")
        taken = claims.take_over(session, step_id=claimed.step_id, worker_id="rescuer")
    assert taken is not None
    assert step_runner.run_step(runtime, claimed=taken).status == "completed"
    drive(runtime)
    assert_completed_pipeline(runtime, job_id)
    # A late duplicate of a finished step's message claims nothing...
    with runtime.session() as session:
        assert claims.claim_step(session, step_id=taken.step_id, worker_id="late") is None
        assert claims.take_over(session, step_id=taken.step_id, worker_id="late") is None
    # ...and a claim that is not (or no longer) this worker's records nothing.
    forged = taken.model_dump(exclude={"job", "config", "outputs"})
    again = ClaimedStep(**{**forged, "worker_id": "late"})
    assert step_runner.run_step(runtime, claimed=again).status == "skipped"
    assert len(clips(runtime, job_id)) == 3
    assert_completed_pipeline(runtime, job_id)


@pytest.mark.usefixtures("slow_scenes")
def test_cancel_stops_a_running_stage_at_its_next_check(
    settings: Settings, tmp_path: Path, make_runtime: Callable[[Settings], Runtime]
) -> None:
    quick = make_runtime(settings.model_copy(update={"cancel_check_interval_s": 0.05}))
    job_id = submit(quick, make_video(tmp_path, scenes=12, scene_s=4.0))
    drive(quick, limit=2)  # ingest, probe
    with quick.session() as session:
        claimed = claims.claim_next(session, agents={"scenes"}, worker_id="w")
    assert claimed is not None
    result: dict[str, str] = {}
    runner = threading.Thread(
        target=lambda: result.update(status=step_runner.run_step(quick, claimed=claimed).status)
    )
    runner.start()

    def progressed() -> bool:
        with quick.session() as session:
            step = session.get(ProcessingStep, claimed.step_id)
            return step is not None and step.progress > 0

    wait_for(progressed, timeout_s=30, what="scene analysis to report progress")
    with quick.session() as session:
        jobs.cancel(session, job_id=job_id, actor=SYSTEM_ACTOR)
    runner.join(30)
    assert result == {"status": "cancelled"}
    job = job_row(quick, job_id)
    assert job.status == "cancelled"
    by_agent = {s.agent: s.status for s in steps(quick, job_id)}
    assert by_agent["scenes"] == "cancelled"
    with quick.session() as session:
        assert claims.claim_next(session, agents={"clipper", "scenes"}, worker_id="w") is None
    # No half-written file is left behind (outputs are renamed into place when whole).
    assert not list((quick.settings.home_dir / "media" / str(job_id)).glob("*.part*"))


# The runner's own cost per stage -----------------------------------------------------------

# One empty stage hop, as a Celery task runs it: the claim (UPDATE ... RETURNING, the job
# loaded and moved to processing) and the completion (job locked, step finished with its
# timing, the next step inserted with its message reserved, the job updated); plus one
# `SET LOCAL synchronous_commit = off` per transaction on PostgreSQL. Was 23 and 4.
MAX_STATEMENTS_PER_EMPTY_STAGE = {"postgresql": 9, "sqlite": 7}
MAX_COMMITS_PER_EMPTY_STAGE = 2


class _Tally:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0

    def statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        text = " ".join(statement.split())
        # Not the runner's own: SQLite's BEGIN IMMEDIATE, the embedded bus's rows (written
        # after commit by `announce`) and the job status rollup kept by the jobs domain.
        if text.startswith("BEGIN") or "bus_messages" in text or "job_status_" in text:
            return
        self.statements.append(text)

    def commit(self, _session: Session) -> None:
        self.commits += 1


def _empty_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentos.services.pipeline.stage_functions import STAGES

    for name in PIPELINE:
        monkeypatch.setitem(STAGES, name, lambda _context: step_runner.StageResult())


def _hop(runtime: Runtime, step_id: uuid.UUID) -> StepOutcome:
    with runtime.session() as session:
        claimed = claims.claim_step(session, step_id=step_id, worker_id="counted")
    assert claimed is not None
    return step_runner.run_step(runtime, claimed=claimed, reserve_next=True)


def test_an_empty_stage_costs_a_bounded_number_of_statements(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _empty_stages(monkeypatch)
    with runtime.session() as session:
        job_id = jobs.create(session, actor=SYSTEM_ACTOR, title="empty", source_path=None).id
        first = session.scalar(select(ProcessingStep.id).where(ProcessingStep.job_id == job_id))
    assert first is not None
    outcome = _hop(runtime, first)  # ingest: warms the connection pool and statement caches
    assert outcome.next_step is not None
    tally = _Tally()
    engines = {runtime.engine, runtime.relaxed_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", tally.statement)
    event.listen(Session, "after_commit", tally.commit)
    try:
        probe = _hop(runtime, outcome.next_step.step_id)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", tally.statement)
        event.remove(Session, "after_commit", tally.commit)
    assert probe.status == "completed"
    assert probe.next_step is not None
    assert probe.next_step.agent == "scenes"
    limit = MAX_STATEMENTS_PER_EMPTY_STAGE[runtime.engine.dialect.name]
    assert len(tally.statements) <= limit, tally.statements
    assert tally.commits <= MAX_COMMITS_PER_EMPTY_STAGE
    by_agent = {s.agent: s for s in steps(runtime, job_id)}
    assert by_agent["probe"].status == "completed"
    assert by_agent["probe"].duration_ms is not None
    assert by_agent["probe"].duration_ms >= 0
    # The next stage's message was reserved in the completing commit: a sweep won't resend it.
    assert by_agent["scenes"].task_id == probe.next_task_id
    with runtime.session() as session:
        assert sending.queued_unsent(session, agents=set(PIPELINE)) == []


def test_a_reserved_step_is_claimed_once_and_only_while_runnable(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _empty_stages(monkeypatch)
    with runtime.session() as session:
        job_id = jobs.create(session, actor=SYSTEM_ACTOR, title="empty", source_path=None).id
        step_id = session.scalar(select(ProcessingStep.id).where(ProcessingStep.job_id == job_id))
        session.execute(update(Agent).where(Agent.name == "ingest").values(enabled=False))
    assert step_id is not None
    with runtime.session() as session:
        assert claims.claim_step(session, step_id=step_id, worker_id="w") is None
        session.execute(update(Agent).where(Agent.name == "ingest").values(enabled=True))
        queue.pause(session, actor=SYSTEM_ACTOR)
    with runtime.session() as session:
        assert claims.claim_step(session, step_id=step_id, worker_id="w") is None
        queue.resume(session, actor=SYSTEM_ACTOR)
    outcome = _hop(runtime, step_id)
    assert outcome.status == "completed"
    with runtime.session() as session:  # a duplicate message claims nothing
        assert claims.claim_step(session, step_id=step_id, worker_id="late") is None
        assert claims.take_over(session, step_id=step_id, worker_id="late") is None
    assert job_row(runtime, job_id).current_stage == "probe"
