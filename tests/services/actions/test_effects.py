"""Each action of this issue changes (or reads) the real state it names, on both deployments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from agentos.db.models import Clip, Job, ProcessingStep, SystemEvent
from agentos.errors import ConflictError
from agentos.services import admin_data, events, queue
from agentos.services.runtime import Runtime
from tests.services.actions.helpers import prepare, run
from tests.support.jobs import make_actor, make_job


@pytest.fixture
def ready(runtime: Runtime) -> Runtime:
    prepare(runtime)
    return runtime


def _job(runtime: Runtime, status: str) -> uuid.UUID:
    with runtime.session() as session:
        owner = make_actor(session, "user")
        return make_job(session, owner, status, stages=1 if status == "failed" else 0).id


def _status(runtime: Runtime, job_id: uuid.UUID) -> str | None:
    with runtime.session() as session:
        job = session.get(Job, job_id)
        return None if job is None else job.status


def _event(runtime: Runtime, severity: str = "warning") -> uuid.UUID:
    with runtime.session() as session:
        return events.emit(session, severity=severity, source="test", message="disk 91%").id  # type: ignore[arg-type]


def test_job_cancel(ready: Runtime) -> None:
    job_id = _job(ready, "processing")
    run(ready, "job.cancel", {"job_id": str(job_id)})
    assert _status(ready, job_id) == "cancelled"


def test_job_retry_resumes_and_counts_the_attempt(ready: Runtime) -> None:
    job_id = _job(ready, "failed")
    with ready.session() as session:
        before = session.get(Job, job_id).attempts  # type: ignore[union-attr]
    result = run(ready, "job.retry", {"job_id": str(job_id)}).result
    assert result["status"] == "queued"
    assert result["attempts"] == before + 1


def test_job_delete_dry_run_then_for_real(ready: Runtime) -> None:
    job_id = _job(ready, "completed")
    preview = run(ready, "job.delete", {"job_id": str(job_id), "dry_run": True}).result
    assert preview["dry_run"] is True
    assert preview["steps"] > 0
    assert _status(ready, job_id) == "completed"
    done = run(ready, "job.delete", {"job_id": str(job_id), "confirm": True}).result
    assert done["steps"] == preview["steps"]
    assert done["dry_run"] is False
    assert _status(ready, job_id) is None
    with ready.session() as session:
        steps = session.scalar(select(func.count()).where(ProcessingStep.job_id == job_id))
        clips = session.scalar(select(func.count()).where(Clip.job_id == job_id))
    assert steps == 0
    assert clips == 0


def test_job_delete_refuses_an_active_job(ready: Runtime) -> None:
    job_id = _job(ready, "queued")
    with pytest.raises(ConflictError):
        run(ready, "job.delete", {"job_id": str(job_id), "confirm": True})
    assert _status(ready, job_id) == "queued"


def test_job_set_priority(ready: Runtime) -> None:
    job_id = _job(ready, "queued")
    assert (
        run(ready, "job.set_priority", {"job_id": str(job_id), "priority": 42}).result["priority"]
        == 42
    )
    with ready.session() as session:
        assert session.get(Job, job_id).priority == 42  # type: ignore[union-attr]


def test_queue_clear_cancels_queued_not_processing(ready: Runtime) -> None:
    queued, running = _job(ready, "queued"), _job(ready, "processing")
    result = run(ready, "queue.clear", {"confirm": True}).result
    assert result["job_ids"] == [str(queued)]
    assert _status(ready, queued) == "cancelled"
    assert _status(ready, running) == "processing"


def test_queue_retry_failed_since(ready: Runtime) -> None:
    failed = [_job(ready, "failed") for _ in range(2)]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert run(ready, "queue.retry_failed", {"since": future}).result["count"] == 0
    preview = run(ready, "queue.retry_failed", {"dry_run": True}).result
    assert preview["count"] == 2
    assert {_status(ready, job) for job in failed} == {"failed"}
    assert run(ready, "queue.retry_failed", {}).result["count"] == 2
    assert {_status(ready, job) for job in failed} == {"queued"}


def test_dashboard_refresh_rebuilds_the_document(ready: Runtime) -> None:
    result = run(ready, "dashboard.refresh").result
    assert result["size_bytes"] > 0
    assert result["build_ms"] >= 0
    document = admin_data.get_document(ready)
    assert document.source == "hit"
    assert document.size_bytes == result["size_bytes"]


def test_alert_ack_and_ack_all(ready: Runtime) -> None:
    first, second, info = _event(ready), _event(ready), _event(ready, "info")
    acked = run(ready, "dashboard.alert.ack", {"event_id": str(first)}).result
    assert acked["acknowledged_at"] is not None
    assert run(ready, "dashboard.alert.ack_all", {"severity": "warning"}).result["count"] == 1
    with ready.session() as session:
        pending = session.scalars(
            select(SystemEvent.id).where(SystemEvent.acknowledged_at.is_(None))
        ).all()
    assert second not in pending
    assert info in pending
    assert run(ready, "dashboard.alert.ack_all").result["count"] == len(pending)


def test_queue_pause_and_resume(ready: Runtime) -> None:
    assert run(ready, "queue.pause").result["paused"] is True
    with ready.session() as session:
        assert queue.is_paused(session)
    state = run(ready, "queue.resume").result
    assert state["paused"] is False
    assert state["changed_by"] == "alice"
    with ready.session() as session:
        assert not queue.is_paused(session)


def test_audit_verify_reads_the_chain(ready: Runtime) -> None:
    run(ready, "queue.pause")
    run(ready, "queue.resume")
    result = run(ready, "audit.verify").result
    assert result == {
        "ok": True,
        "checked": 2,
        "head_seq": 2,
        "head_hash": result["head_hash"],
        "first_broken_seq": None,
        "first_broken_id": None,
        "problem": None,
        "anchor_seq": None,
    }
