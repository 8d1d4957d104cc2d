"""The agent actions of the AgentsWorkers view change the real state, on both deployments."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from agentos.db.models import Agent, Job, ProcessingStep
from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.work import ClaimedStep
from agentos.services.jobs.catalog import PIPELINE, default_config
from agentos.services.pipeline import claims
from agentos.services.runtime import Runtime
from tests.services.actions.helpers import actor, outcomes, prepare, run
from tests.support.jobs import make_actor, make_job

OPERATOR = actor("operator")


@pytest.fixture
def ready(runtime: Runtime) -> Runtime:
    prepare(runtime)
    return runtime


def _queued_job(runtime: Runtime) -> uuid.UUID:
    """A job whose ingest step is queued."""
    with runtime.session() as session:
        return make_job(session, make_actor(session, "user")).id


def _claim(runtime: Runtime, agent: str = "ingest", worker: str = "w1") -> ClaimedStep | None:
    with runtime.session() as session:
        return claims.claim_next(session, agents={agent}, worker_id=worker)


def _agent(runtime: Runtime, name: str) -> Agent:
    with runtime.session() as session:
        row = session.scalar(select(Agent).where(Agent.name == name))
        assert row is not None
        session.expunge(row)
        return row


def _step(runtime: Runtime, step_id: uuid.UUID) -> ProcessingStep:
    with runtime.session() as session:
        step = session.get(ProcessingStep, step_id)
        assert step is not None
        session.expunge(step)
        return step


def _job_status(runtime: Runtime, job_id: uuid.UUID) -> str:
    with runtime.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.status


def test_stop_keeps_queued_work_unclaimed_and_start_releases_it(ready: Runtime) -> None:
    job_id = _queued_job(ready)
    stopped = run(ready, "agent.stop", {"agent_id": "ingest"}, who=OPERATOR).result
    assert stopped["enabled"] is False
    assert stopped["queue_depth"] == 1
    assert _agent(ready, "ingest").enabled is False
    assert _claim(ready) is None
    assert _job_status(ready, job_id) == "queued"

    # By UUID this time: the payload takes the agent's name or id.
    started = run(ready, "agent.start", {"agent_id": stopped["id"]}, who=OPERATOR).result
    assert started["enabled"] is True
    claimed = _claim(ready)
    assert claimed is not None
    assert claimed.job_id == job_id
    assert outcomes(ready, "agent.stop") == ["success"]
    assert outcomes(ready, "agent.start") == ["success"]


def test_restart_requeues_the_running_stage_safely(ready: Runtime) -> None:
    job_id = _queued_job(ready)
    claimed = _claim(ready, worker="old-worker")
    assert claimed is not None
    run(ready, "agent.stop", {"agent_id": "ingest"}, who=OPERATOR)

    restarted = run(ready, "agent.restart", {"agent_id": "INGEST"}, who=OPERATOR).result
    assert restarted["enabled"] is True
    assert (restarted["running"], restarted["queue_depth"]) == (1 - 1, 1)
    step = _step(ready, claimed.step_id)
    assert (step.status, step.worker_id, step.attempt) == ("queued", None, claimed.attempt)
    assert _job_status(ready, job_id) == "queued"
    # The old worker learns at its next check that the step is no longer its own...
    with ready.session() as session:
        control = claims.heartbeat(session, step_id=claimed.step_id, worker_id="old-worker")
    assert control.owned is False
    # ...and the same step (same attempt) is claimed again.
    again = _claim(ready, worker="new-worker")
    assert again is not None
    assert (again.step_id, again.attempt) == (claimed.step_id, claimed.attempt)
    assert outcomes(ready, "agent.restart") == ["success"]


def test_restart_all_needs_confirm_dry_run_changes_nothing(ready: Runtime) -> None:
    _queued_job(ready)
    claimed = _claim(ready)
    assert claimed is not None
    run(ready, "agent.stop", {"agent_id": "probe"}, who=OPERATOR)

    with pytest.raises(InvalidError) as refused:
        run(ready, "agent.restart_all", {}, who=OPERATOR)
    assert refused.value.code == "CONFIRMATION_REQUIRED"
    preview = run(ready, "agent.restart_all", {"dry_run": True}, who=OPERATOR)
    assert preview.dry_run is True
    assert [agent["name"] for agent in preview.result["agents"]] == list(PIPELINE)
    assert all(agent["enabled"] for agent in preview.result["agents"])
    assert _agent(ready, "probe").enabled is False
    assert _step(ready, claimed.step_id).status == "running"

    done = run(ready, "agent.restart_all", {"confirm": True}, who=OPERATOR).result
    assert done["dry_run"] is False
    assert _agent(ready, "probe").enabled is True
    assert _step(ready, claimed.step_id).status == "queued"
    assert outcomes(ready, "agent.restart_all") == ["rejected", "success", "success"]


def test_clear_queue_needs_confirm_and_dry_run_lists_the_jobs(ready: Runtime) -> None:
    first, second = _queued_job(ready), _queued_job(ready)
    with pytest.raises(InvalidError):
        run(ready, "agent.clear_queue", {"agent_id": "ingest"}, who=OPERATOR)
    preview = run(ready, "agent.clear_queue", {"agent_id": "ingest", "dry_run": True}).result
    assert preview["count"] == 2
    assert set(preview["job_ids"]) == {str(first), str(second)}
    assert _job_status(ready, first) == _job_status(ready, second) == "queued"

    # Only the agent's own queue: a job waiting at probe is left alone.
    with ready.session() as session:
        at_probe = make_job(session, make_actor(session, "user"), stages=1).id
    done = run(ready, "agent.clear_queue", {"agent_id": "ingest", "confirm": True}).result
    assert (done["count"], done["dry_run"]) == (2, False)
    assert _job_status(ready, first) == _job_status(ready, second) == "cancelled"
    assert _job_status(ready, at_probe) == "queued"
    assert _claim(ready) is None
    assert outcomes(ready, "agent.clear_queue") == ["rejected", "success", "success"]


def test_set_concurrency_is_stored_and_bounded(ready: Runtime) -> None:
    result = run(ready, "agent.set_concurrency", {"agent_id": "scenes", "concurrency": 4}).result
    assert result["concurrency"] == 4
    assert _agent(ready, "scenes").concurrency == 4
    with pytest.raises(InvalidError) as refused:
        run(ready, "agent.set_concurrency", {"agent_id": "scenes", "concurrency": 0})
    assert refused.value.code == "VALIDATION_ERROR"
    assert _agent(ready, "scenes").concurrency == 4
    # A payload that fails validation changes nothing and is audited as rejected.
    assert outcomes(ready, "agent.set_concurrency") == ["success", "rejected"]


def test_config_update_is_validated_and_reset_restores_defaults(ready: Runtime) -> None:
    updated = run(
        ready, "agent.config.update", {"agent_id": "clipper", "config": {"max_clip_s": 20.0}}
    ).result
    assert updated["config"]["max_clip_s"] == 20.0
    assert _agent(ready, "clipper").config["max_clip_s"] == 20.0

    for bad in ({"min_clip_s": 25.0}, {"no_such_key": 1}, {"max_clip_s": "long"}):
        with pytest.raises(InvalidError) as refused:
            run(ready, "agent.config.update", {"agent_id": "clipper", "config": bad})
        assert refused.value.code == "INVALID_AGENT_CONFIG"
    assert _agent(ready, "clipper").config["max_clip_s"] == 20.0

    reset = run(ready, "agent.config.reset", {"agent_id": "clipper"}).result
    assert reset["config"] == reset["defaults"]
    assert _agent(ready, "clipper").config == default_config("clipper")
    assert outcomes(ready, "agent.config.update") == ["success"] + ["failed"] * 3
    assert outcomes(ready, "agent.config.reset") == ["success"]


def test_unknown_agent_is_not_found_and_audited(ready: Runtime) -> None:
    with pytest.raises(NotFoundError) as missing:
        run(ready, "agent.stop", {"agent_id": "nope"}, who=OPERATOR)
    assert missing.value.code == "AGENT_NOT_FOUND"
    assert outcomes(ready, "agent.stop") == ["failed"]
