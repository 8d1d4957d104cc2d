"""events.list, events.emit (an operator note, stored and published live) and events.purge
(old acknowledged events only), on both deployments."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from agentos.db.base import utcnow
from agentos.db.models import SystemEvent
from agentos.errors import ForbiddenError, InvalidError, NotFoundError
from agentos.services import events
from agentos.services.runtime import Runtime
from tests.services.actions.helpers import ADMIN, actor, audit_rows, run
from tests.support.jobs import make_job

LIVE_WAIT_S = 10.0


def _emit(runtime: Runtime, message: str, **payload: Any) -> dict[str, Any]:
    return run(runtime, "events.emit", {"message": message, **payload}).result


def _listed(runtime: Runtime, **payload: Any) -> list[str]:
    return [event["message"] for event in run(runtime, "events.list", payload).result["events"]]


def test_an_emitted_note_is_stored_and_published_live(runtime: Runtime) -> None:
    subscription = runtime.backends.bus.subscribe(events.CHANGES_CHANNEL)
    try:
        traced = dataclasses.replace(ADMIN, trace_id="incident-42")
        note = run(
            runtime,
            "events.emit",
            {"severity": "warning", "message": "deploying 2.3.1", "reason": "release"},
            who=traced,
        ).result
        deadline = time.monotonic() + LIVE_WAIT_S
        seen: dict[str, Any] | None = None
        while seen is None and time.monotonic() < deadline:
            message = subscription.get(timeout_s=0.2)
            if message is not None and message.payload.get("kind") == "event.created":
                seen = message.payload
    finally:
        subscription.close()
    assert seen is not None, "the note was not published on the bus"
    assert seen["event_id"] == note["id"]
    assert (seen["severity"], seen["source"]) == ("warning", "operator")
    assert seen["message"] == "alice: deploying 2.3.1"
    assert (note["severity"], note["source"], note["kind"]) == ("warning", "operator", "note")
    assert note["trace_id"] == "incident-42"
    listed = run(runtime, "events.list", {"source": "operator"}).result["events"]
    assert [event["id"] for event in listed] == [note["id"]]
    assert listed[0]["message"] == "alice: deploying 2.3.1"
    assert _listed(runtime, trace_id="incident-42") == ["alice: deploying 2.3.1"]
    (audited,) = audit_rows(runtime, "events.emit")
    assert (audited.outcome, audited.trace_id, audited.reason) == (
        "success",
        "incident-42",
        "release",
    )


def test_a_note_about_a_job_is_listed_with_it(runtime: Runtime) -> None:
    with runtime.session() as session:
        job = make_job(session, ADMIN)
    _emit(runtime, "re-running by hand", job_id=str(job.id))
    _emit(runtime, "unrelated")
    assert _listed(runtime, job_id=str(job.id)) == ["alice: re-running by hand"]


def test_a_note_about_a_job_that_does_not_exist_is_refused(runtime: Runtime) -> None:
    with pytest.raises(NotFoundError) as refused:
        _emit(runtime, "about nothing", job_id=str(uuid.uuid4()))
    assert refused.value.code == "JOB_NOT_FOUND"
    assert _listed(runtime) == []


def test_list_filters_by_severity_acknowledged_source_and_limit(runtime: Runtime) -> None:
    with runtime.session() as session:
        made = [
            events.emit(session, severity=severity, source=source, message=f"{source} {severity}")
            for severity, source in [
                ("info", "agent.probe"),
                ("error", "agent.probe"),
                ("warning", "security"),
                ("error", "security"),
                ("critical", "system"),
            ]
        ]
        ids = [event.id for event in made]
    run(runtime, "dashboard.alert.ack", {"event_id": str(ids[1])})
    run(runtime, "dashboard.alert.ack", {"event_id": str(ids[4])})
    assert sorted(_listed(runtime, severity="error")) == ["agent.probe error", "security error"]
    assert sorted(_listed(runtime, acknowledged=True)) == ["agent.probe error", "system critical"]
    assert sorted(_listed(runtime, acknowledged=False)) == [
        "agent.probe info",
        "security error",
        "security warning",
    ]
    assert sorted(_listed(runtime, source="security", acknowledged=False)) == [
        "security error",
        "security warning",
    ]
    assert len(_listed(runtime, limit=2)) == 2
    assert len(_listed(runtime)) == 5
    viewer = actor("readonly")
    assert len(run(runtime, "events.list", {}, who=viewer).result["events"]) == 5
    with pytest.raises(ForbiddenError):
        run(runtime, "events.emit", {"message": "not allowed"}, who=viewer)


def _age(runtime: Runtime, event_ids: list[uuid.UUID], days: float) -> None:
    with runtime.session() as session:
        session.execute(
            update(SystemEvent)
            .where(SystemEvent.id.in_(event_ids))
            .values(created_at=utcnow() - timedelta(days=days))
        )


def test_purge_removes_old_acknowledged_events_only(runtime: Runtime) -> None:
    with runtime.session() as session:
        made = {
            name: events.emit(session, severity="info", source="system", message=name).id
            for name in ("old acked", "old open", "new acked", "older acked")
        }
    for name in ("old acked", "new acked", "older acked"):
        run(runtime, "dashboard.alert.ack", {"event_id": str(made[name])})
    _age(runtime, [made["old acked"], made["old open"]], 40)
    _age(runtime, [made["older acked"]], 90)
    with pytest.raises(InvalidError):
        run(runtime, "events.purge", {"older_than_days": 30})
    rehearsal = run(runtime, "events.purge", {"older_than_days": 30, "dry_run": True}).result
    assert rehearsal == {"older_than_days": 30, "removed": 2, "dry_run": True}
    assert len(_listed(runtime)) == 4
    done = run(runtime, "events.purge", {"older_than_days": 30, "confirm": True}).result
    assert done == {"older_than_days": 30, "removed": 2, "dry_run": False}
    assert sorted(_listed(runtime)) == ["new acked", "old open"]
