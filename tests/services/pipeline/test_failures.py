"""A failed stage leaves one readable line and a code; only what may pass is retried, later."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from agentos.db.base import utcnow
from agentos.db.models import Job, ProcessingStep, SystemEvent
from agentos.errors import InvalidError, UnavailableError
from agentos.schemas.jobs import JobOptions
from agentos.schemas.media import MediaInfo
from agentos.services import jobs
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.jobs.failed import retry_figures
from agentos.services.pipeline import claims, failures, progress, sending, stage_functions
from agentos.services.pipeline.stage import StageContext, StageResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.pipeline import drive, job_row, make_video, steps, submit

DUMPS = ("Traceback", "validation error", "errors.pydantic.dev")


def _assert_one_readable_line(text: str | None) -> None:
    assert text
    assert "\n" not in text
    assert not any(dump in text for dump in DUMPS), text
    assert len(text) <= failures.MAX_MESSAGE_CHARS + 20


def _job_with_source(runtime: Runtime, source: Path) -> uuid.UUID:
    with runtime.session() as session:
        return jobs.create(
            session,
            actor=SYSTEM_ACTOR,
            title=source.name,
            source_path=str(source),
            options=JobOptions(min_clip_s=0.5, max_clip_s=30.0),
        ).id


def test_a_missing_source_fails_at_once_with_one_line_and_a_code(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    job_id = _job_with_source(runtime, tmp_path / "gone.mp4")

    assert drive(runtime) == ["ingest:failed"]

    job = job_row(runtime, job_id)
    assert job.status == "failed"
    assert job.error_code == "SOURCE_MISSING"
    _assert_one_readable_line(job.error)
    assert job.error is not None
    assert job.error.startswith("ingest: ")
    assert "gone.mp4" in job.error
    assert job.attempts == 1
    assert [(s.agent, s.status) for s in steps(runtime, job_id)] == [("ingest", "failed")]


def test_garbage_bytes_fail_at_probe_at_once_without_a_dump(
    settings: Settings, runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(64 * 1024))
    job_id = submit(runtime, garbage)

    with caplog.at_level(logging.WARNING, logger="agentos.services.pipeline"):
        assert drive(runtime) == ["ingest:completed", "probe:failed"]

    job = job_row(runtime, job_id)
    assert job.status == "failed"
    assert job.error_code in {"UNSUPPORTED_MEDIA", "CORRUPT_MEDIA"}
    _assert_one_readable_line(job.error)
    assert job.attempts == 1
    by_agent = [(s.agent, s.status) for s in steps(runtime, job_id)]
    assert by_agent == [("ingest", "completed"), ("probe", "failed")]
    logged = [r for r in caplog.records if getattr(r, "job_id", None) == str(job_id)]
    assert len(logged) == 1
    assert logged[0].levelno == logging.WARNING  # a refused input: no traceback needed
    assert getattr(logged[0], "error_code", None) == job.error_code


def test_a_shared_source_is_copied_and_an_uploads_own_file_moved(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    """The seed points many jobs at one demo video: ingesting one must not take it away."""
    video = make_video(tmp_path)
    first, second = _job_with_source(runtime, video), _job_with_source(runtime, video)
    drive(runtime, limit=40)
    assert video.is_file()
    for job_id in (first, second):
        job = job_row(runtime, job_id)
        assert job.status == "completed", job.error
        assert "/media/" in (job.source_path or "")


def _failing(make: Callable[[], BaseException]) -> Any:
    def stage(_context: StageContext) -> StageResult:
        raise make()

    return stage


def test_a_retryable_failure_is_retried_after_a_backoff_then_fails_readably(
    settings: Settings,
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = submit(runtime, make_video(tmp_path))
    assert drive(runtime, limit=1) == ["ingest:completed"]

    def boom() -> BaseException:
        return RuntimeError("storage node said:\nline two of a long story")

    monkeypatch.setitem(stage_functions.STAGES, "probe", _failing(boom))

    with caplog.at_level(logging.INFO, logger="agentos.services.pipeline"):
        before = utcnow()
        assert drive(runtime) == ["probe:retrying"]

        # The next attempt is queued for later, not now: nothing can be claimed yet.
        job = job_row(runtime, job_id)
        assert job.status == "queued"
        assert job.attempts == 2
        assert job.error is None
        queued = [s for s in steps(runtime, job_id) if s.status == "queued"]
        assert len(queued) == 1
        assert queued[0].attempt == 2
        assert queued[0].created_at >= before + timedelta(
            seconds=failures.RETRY_BASE_S * (1 - failures.RETRY_JITTER)
        )
        with runtime.session() as session:
            assert claims.claim_next(session, agents=set(PIPELINE), worker_id="w") is None
            assert claims.claim_step(session, step_id=queued[0].id, worker_id="w") is None
            assert sending.queued_unsent(session, agents=set(PIPELINE)) == []
            retry = session.scalars(select(SystemEvent).where(SystemEvent.kind == "step.retry"))
            assert [event.details["retry_in_s"] > 0 for event in retry] == [True]
            # The Failures view's retries list says when and why (the failed step's code).
            waiting = retry_figures(session, now=utcnow())
            assert (waiting.waiting, waiting.due) == (1, 0)
            [listed] = waiting.retries
            assert (listed.step_id, listed.attempt) == (queued[0].id, 2)
            assert listed.next_attempt_at == queued[0].created_at
            assert (listed.last_status, listed.last_error_code) == ("failed", "INTERNAL")

        # Once the backoff has passed, the attempts go on until the job's last one.
        for attempt in (2, 3):
            _make_due(runtime, job_id)
            assert drive(runtime) == [f"probe:{'retrying' if attempt < 3 else 'failed'}"]

    job = job_row(runtime, job_id)
    assert job.status == "failed"
    assert job.attempts == job.max_attempts == 3
    assert job.error_code == "INTERNAL"
    _assert_one_readable_line(job.error)
    assert job.error is not None
    assert "RuntimeError: storage node said:" in job.error
    assert "line two" not in job.error
    probe_steps = sorted(
        (s for s in steps(runtime, job_id) if s.agent == "probe"), key=lambda s: s.attempt
    )
    assert [s.status for s in probe_steps] == ["failed", "failed", "failed"]
    assert [s.error_code for s in probe_steps] == ["INTERNAL"] * 3
    assert str(probe_steps[-1].id) in job.error  # where to look in the log
    logged = [r for r in caplog.records if getattr(r, "job_id", None) == str(job_id)]
    # Each failure names its step; the record keeps the trace of the request behind the job.
    assert [getattr(r, "step_id", None) for r in logged] == [str(s.id) for s in probe_steps]
    assert all(r.levelno == logging.ERROR and r.exc_info for r in logged)
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in logged)


def _make_due(runtime: Runtime, job_id: uuid.UUID) -> None:
    """Let the backoff pass: the queued attempt becomes due now."""
    with runtime.session() as session:
        session.execute(
            update(ProcessingStep)
            .where(ProcessingStep.job_id == job_id, ProcessingStep.status == "queued")
            .values(created_at=utcnow() - timedelta(seconds=1))
        )


def test_stored_data_that_does_not_validate_fails_once_without_a_dump(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    """What the issue saw: made-up media info read by the clipper (8 validation errors)."""
    job_id = submit(runtime, make_video(tmp_path))
    drive(runtime, limit=3)  # ingest, probe, scenes
    with runtime.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(media_info={"duration": 3.0, "fps": 25})
        )
    assert drive(runtime) == ["clipper:failed"]
    job = job_row(runtime, job_id)
    assert job.error_code == "INVALID_STAGE_DATA"
    _assert_one_readable_line(job.error)
    assert job.error is not None
    assert "MediaInfo" in job.error


def test_classify_decides_code_line_and_retry_in_one_place() -> None:
    cases: list[tuple[BaseException, str, bool]] = [
        (InvalidError("x.mp4 has no video stream", code="UNSUPPORTED_MEDIA"), "UNSUPPORTED_MEDIA", False),
        (UnavailableError("redis is down"), "SERVICE_UNAVAILABLE", True),
        (FileNotFoundError(2, "No such file or directory", "/gone/clip.mp4"), "FILE_MISSING", False),
        (TimeoutError("decoder stalled"), "STAGE_TIMEOUT", True),
        (OSError(28, "No space left on device"), "STORAGE_FULL", True),
        (KeyError("scenes"), "INTERNAL", True),
    ]  # fmt: skip
    for exc, code, retryable in cases:
        failure = failures.classify(exc, step_id=uuid.uuid4())
        assert (failure.code, failure.retryable) == (code, retryable), exc
        _assert_one_readable_line(failure.message)
    try:
        MediaInfo.model_validate({"duration": 1})
    except ValidationError as exc:
        failure = failures.classify(exc)
    assert (failure.code, failure.retryable) == ("INVALID_STAGE_DATA", False)
    _assert_one_readable_line(failure.message)
    assert "(and " in failure.message  # how many more problems, not each of them
    delays = [failures.retry_delay_s(attempt) for attempt in (1, 2, 3, 10)]
    assert delays[0] < delays[1] < delays[2] <= delays[3]
    assert delays[3] <= failures.RETRY_MAX_S * (1 + failures.RETRY_JITTER)


def test_an_external_agents_multi_line_error_is_kept_to_one_line(
    settings: Settings, runtime: Runtime
) -> None:
    with runtime.session() as session:
        job_id = jobs.create(session, actor=SYSTEM_ACTOR, title="external", source_path=None).id
        job = session.get(Job, job_id)
        assert job is not None
        step = progress.current_step(session, job, PIPELINE[0])
        progress.start_stage(session, job, step, worker="external")
        progress.fail_stage(
            job, step, error="Traceback (most recent call last):\n  boom", code=None
        )
    job = job_row(runtime, job_id)
    assert job.error is not None
    assert "\n" not in job.error
    assert job.error_code == "STAGE_FAILED"
