"""The pipeline's steps in order: validation, authorization, confirmation, rate limit,
dispatch and audit, on both deployments."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from agentos.db.models import Job, SystemEvent
from agentos.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    RateLimitedError,
)
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.helpers import ADMIN, actor, audit_rows, outcomes, prepare, run
from tests.support.jobs import make_actor, make_job


@pytest.fixture
def ready(runtime: Runtime) -> Runtime:
    prepare(runtime)
    return runtime


def _job(runtime: Runtime, status: str = "queued") -> uuid.UUID:
    with runtime.session() as session:
        owner = make_actor(session, "user")
        return make_job(session, owner, status, stages=1 if status == "failed" else 0).id


def test_success_is_audited_with_result_trace_and_chain(ready: Runtime) -> None:
    job_id = _job(ready)
    response = run(ready, "job.cancel", {"job_id": str(job_id), "reason": "stuck"})
    assert response.result["status"] == "cancelled"
    assert response.audit_seq is not None
    assert response.trace_id
    [record] = audit_rows(ready, "job.cancel")
    assert record.outcome == "success"
    assert record.seq == response.audit_seq
    assert record.trace_id == response.trace_id
    assert record.reason == "stuck"
    assert record.actor_name == "alice"
    assert record.ip == "127.0.0.1"
    assert record.payload == {"job_id": str(job_id), "reason": "stuck"}
    assert record.result is not None
    assert record.result["status"] == "cancelled"
    assert len(record.hash) == 64
    assert record.prev_hash == "0" * 64


def test_unknown_action_and_bad_payload_are_refused_with_field_errors(ready: Runtime) -> None:
    with pytest.raises(InvalidError) as unknown:
        run(ready, "job.explode", {})
    assert unknown.value.code == "UNKNOWN_ACTION"
    with pytest.raises(InvalidError) as bad:
        run(ready, "job.set_priority", {"job_id": "not-a-uuid", "priority": 1000})
    assert bad.value.code == "VALIDATION_ERROR"
    fields = {tuple(err["loc"]) for err in bad.value.details["errors"]}
    assert ("payload", "job_id") in fields
    assert ("payload", "priority") in fields
    with pytest.raises(InvalidError):
        run(ready, "queue.pause", {"surprise": 1})


def test_business_error_is_rolled_back_and_audited_as_failed(ready: Runtime) -> None:
    job_id = _job(ready, "failed")
    with pytest.raises(ConflictError):
        run(ready, "job.cancel", {"job_id": str(job_id)})
    with ready.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == "failed"
    [record] = audit_rows(ready, "job.cancel")
    assert record.outcome == "failed"
    assert record.error_code


def test_denial_is_audited_and_raises_a_security_event(ready: Runtime) -> None:
    job_id = _job(ready)
    with pytest.raises(ForbiddenError) as denied:
        run(ready, "job.cancel", {"job_id": str(job_id)}, who=actor("user"))
    assert denied.value.code == "PERMISSION_DENIED"
    assert outcomes(ready, "job.cancel") == ["denied"]
    with ready.session() as session:
        event = session.scalars(select(SystemEvent).where(SystemEvent.source == "security")).one()
        assert event.severity == "warning"
        assert "job.cancel" in event.message
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == "queued"


def test_admin_outside_the_ip_allow_list_is_denied_but_local_cli_is_not(ready: Runtime) -> None:
    with pytest.raises(ForbiddenError) as denied:
        run(ready, "queue.pause", who=actor("admin", ip="203.0.113.9"))
    assert denied.value.code == "IP_NOT_ALLOWED"
    local = actor("admin", ip="")
    cli = type(local)(name="local-operator", role="admin", source="cli")
    assert run(ready, "queue.pause", who=cli).result["paused"] is True
    assert outcomes(ready, "queue.pause") == ["denied", "success"]


def test_allow_list_table_entries_admit_more_networks(ready: Runtime) -> None:
    from agentos.db.models import IpAllowEntry
    from agentos.services.security import ipallow

    with ready.session() as session:
        session.add(IpAllowEntry(cidr="203.0.113.0/24", note="office"))
        ipallow.invalidate(session)
    assert run(ready, "queue.pause", who=actor("admin", ip="203.0.113.9")).result["paused"]


def test_dangerous_action_needs_confirm_and_dry_run_changes_nothing(ready: Runtime) -> None:
    queued = [_job(ready) for _ in range(3)]
    with pytest.raises(InvalidError) as refused:
        run(ready, "queue.clear", {})
    assert refused.value.code == "CONFIRMATION_REQUIRED"
    preview = run(ready, "queue.clear", {"dry_run": True})
    assert preview.dry_run is True
    assert preview.result["count"] == 3
    assert sorted(preview.result["job_ids"]) == sorted(str(job) for job in queued)
    with ready.session() as session:
        statuses = {session.get(Job, job).status for job in queued}  # type: ignore[union-attr]
    assert statuses == {"queued"}
    done = run(ready, "queue.clear", {"confirm": True, "reason": "maintenance"})
    assert done.result["count"] == 3
    assert outcomes(ready, "queue.clear") == ["rejected", "success", "success"]
    assert audit_rows(ready, "queue.clear")[-1].reason == "maintenance"


@pytest.mark.parametrize("algorithm", ["sliding_window", "token_bucket", "fixed_window"])
def test_rate_limit_admits_exactly_the_class_limit(
    ready: Runtime, algorithm: str, make_runtime: Callable[[Settings], Runtime]
) -> None:
    limited = make_runtime(
        ready.settings.model_copy(
            update={"action_rate_algorithm": algorithm, "action_rate_limits": {"standard": 3}}
        )
    )
    for _ in range(3):
        run(limited, "queue.pause")
    with pytest.raises(RateLimitedError) as refused:
        run(limited, "queue.pause")
    assert refused.value.limit == 3
    assert refused.value.window_s == 60
    assert 0 < refused.value.retry_after_s <= 60
    # Per user and per action: another action and another user are not affected.
    run(limited, "queue.resume")
    run(limited, "queue.pause", who=actor("admin", name="bob"))
    assert outcomes(limited, "queue.pause") == ["success"] * 3 + ["rate_limited", "success"]


def test_leased_permits_never_admit_more_than_the_limit(
    ready: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """On Redis the action limit is leased in batches (up to limit/20 at once) and spent
    locally; two processes taking turns still get exactly the limit between them."""
    settings = ready.settings.model_copy(update={"action_rate_limits": {"standard": 100}})
    first = make_runtime(settings)
    # The embedded limiter is per process by design: there one runtime takes every turn.
    second = make_runtime(settings) if settings.redis_url else first
    admitted, limits = 0, []
    for turn in range(150):
        try:
            run(first if turn % 2 else second, "queue.pause")
            admitted += 1
        except RateLimitedError as error:
            limits.append(error.limit)
    refused = len(limits)
    assert set(limits) == {100}
    # Never more; fewer only by permits a slow process let expire (batch - 1 per process).
    assert 100 - 2 * (100 // 20 - 1) <= admitted <= 100
    assert admitted + refused == 150
    assert outcomes(first, "queue.pause").count("success") == admitted


def test_high_risk_class_has_its_own_lower_limit(
    ready: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    limited = make_runtime(
        ready.settings.model_copy(update={"action_rate_limits": {"standard": 50, "high_risk": 2}})
    )
    for _ in range(2):
        run(limited, "queue.clear", {"dry_run": True})
    with pytest.raises(RateLimitedError):
        run(limited, "queue.clear", {"dry_run": True})
    run(limited, "queue.pause", who=ADMIN)
