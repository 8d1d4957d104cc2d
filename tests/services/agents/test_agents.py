"""Agents service: switches the runner obeys, concurrency, config validation, figures."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job, ProcessingStep, RuntimeSettingChange
from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.common import PageParams
from agentos.services import agents, jobs
from agentos.services.context import Actor
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.jobs import make_actor, make_job

OPERATOR = Actor(name="op", role="operator")


@pytest.fixture
def session(settings: Settings, runtime: Runtime) -> Iterator[Session]:
    with runtime.session() as session:
        ensure_default_agents(session)
        yield session


def test_stop_start_and_claimable(session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user)
    assert agents.claimable_agents(session) == set(PIPELINE)
    stopped = agents.stop(session, agent="ingest", actor=OPERATOR)
    assert not stopped.enabled
    assert stopped.queue_depth == 1
    assert "ingest" not in agents.claimable_agents(session)
    assert jobs.require(session, job_id=job.id, actor=user).status == "queued"
    by_id = agents.start(session, agent=str(stopped.id), actor=OPERATOR)
    assert by_id.enabled
    assert "ingest" in agents.claimable_agents(session)
    with pytest.raises(NotFoundError):
        agents.require(session, agent="nope")
    agents.stop(session, agent="probe", actor=OPERATOR)
    assert all(a.enabled for a in agents.restart_all(session, actor=OPERATOR))


def test_concurrency_bounds(session: Session) -> None:
    assert (
        agents.set_concurrency(session, agent="scenes", concurrency=8, actor=OPERATOR).concurrency
        == 8
    )
    for bad in (0, 65):
        with pytest.raises(InvalidError):
            agents.set_concurrency(session, agent="scenes", concurrency=bad, actor=OPERATOR)


def test_config_validated_persisted_and_reset(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)
        updated = agents.update_config(
            session, agent="scenes", config={"threshold": 40}, actor=OPERATOR
        )
        assert updated.config["threshold"] == 40
        assert updated.config["min_scene_s"] == 0.6
    with runtime.session() as session:
        [read] = agents.get_config(session, agent="scenes")
        assert read.config["threshold"] == 40
        bad_configs = [
            ("scenes", {"threshold": 0}),
            ("scenes", {"threshold": 101}),
            ("clipper", {"min_clip_s": 10, "max_clip_s": 5}),
            ("thumbs", {"quality": 0}),
            ("thumbs", {"parallel": -1}),
            ("clipper", {"parallel": 33}),
            ("ingest", {"unknown": 1}),
            ("scenes", {"colour": "red"}),
        ]
        for name, config in bad_configs:
            with pytest.raises(InvalidError) as error:
                agents.update_config(session, agent=name, config=config, actor=OPERATOR)
            assert error.value.code == "INVALID_AGENT_CONFIG"
        reset = agents.reset_config(session, agent="scenes", actor=OPERATOR)
        assert reset.config["threshold"] == 27.0
        keys = session.scalars(select(RuntimeSettingChange.key)).all()
        assert keys.count("agent.scenes.config") == 2


def _seed_steps(
    session: Session, durations: dict[str, list[float]], failed: dict[str, int]
) -> None:
    user = make_actor(session)
    job = make_job(session, user, "completed")
    now = utcnow()
    attempt = 10
    for agent, values in durations.items():
        rows = [("completed", value) for value in values] + [("failed", 1.0)] * failed.get(agent, 0)
        for status, value in rows:
            attempt += 1
            session.add(
                ProcessingStep(
                    job_id=job.id,
                    agent=agent,
                    attempt=attempt,
                    status=status,
                    started_at=now - timedelta(minutes=5),
                    finished_at=now,
                    duration_ms=value,
                )
            )
    session.flush()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_performance_matches_direct_computation(session: Session) -> None:
    durations = {
        "scenes": [float(v) for v in (120, 80, 400, 95, 310, 150, 60)],
        "thumbs": [7.5, 9.0],
    }
    _seed_steps(session, durations, failed={"scenes": 3})
    since = utcnow() - timedelta(hours=1)
    figures = {p.agent: p for p in agents.performance(session, since=since)}
    rows = session.execute(
        select(ProcessingStep.agent, ProcessingStep.duration_ms).where(
            ProcessingStep.status == "completed"
        )
    ).all()
    for name in ("scenes", "thumbs", "ingest"):
        values = [value for agent, value in rows if agent == name and value is not None]
        assert figures[name].p95_ms == pytest.approx(_percentile(values, 0.95))
        assert figures[name].mean_ms == pytest.approx(sum(values) / len(values))
    assert figures["scenes"].completed == 8
    assert figures["scenes"].failed == 3
    assert figures["scenes"].error_rate == pytest.approx(3 / 11)


def test_health_reports_stalled_and_stopped(settings: Settings, session: Session) -> None:
    user = make_actor(session)
    job = make_job(session, user, "processing")
    step = session.scalar(select(ProcessingStep).where(ProcessingStep.job_id == job.id))
    assert step is not None
    step.heartbeat_at = utcnow() - timedelta(seconds=settings.stall_after_s + 5)
    agents.stop(session, agent="publish", actor=OPERATOR)
    report = agents.health(session)
    by_name = {a.agent: a for a in report.agents}
    assert report.status == "degraded"
    assert (by_name["ingest"].status, by_name["ingest"].stalled_steps) == ("stalled", 1)
    assert by_name["publish"].status == "stopped"
    assert by_name["probe"].status == "healthy"


def test_logs_queue_and_clear_queue(session: Session) -> None:
    user = make_actor(session)
    waiting = [make_job(session, user).id for _ in range(2)]
    make_job(session, user, "failed")
    agents.stop(session, agent="ingest", actor=OPERATOR)
    logs = agents.logs(session, agent="ingest", actor=OPERATOR, page=PageParams(per_page=50))
    kinds = [entry.kind for entry in logs.data]
    assert kinds.count("event") == 1
    assert kinds.count("step") == 3
    assert logs.pagination.total == 4
    assert any("failed" in e.message and "boom" in e.message for e in logs.data)
    assert (
        agents.logs(session, agent="probe", actor=OPERATOR, page=PageParams()).pagination.total == 0
    )
    queued = agents.queue(session, agent="ingest", actor=OPERATOR, page=PageParams())
    assert {w.job_id for w in queued.data} == set(waiting)
    dry = agents.clear_queue(session, agent="ingest", actor=OPERATOR, dry_run=True)
    assert dry.count == 2
    result = agents.clear_queue(session, agent="ingest", actor=OPERATOR)
    assert set(result.job_ids) == set(waiting)
    assert (
        agents.queue(session, agent="ingest", actor=OPERATOR, page=PageParams()).pagination.total
        == 0
    )
    statuses = session.scalars(select(Job.status).where(Job.id.in_(waiting))).all()
    assert set(statuses) == {"cancelled"}
