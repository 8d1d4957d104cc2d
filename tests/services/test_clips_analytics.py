"""Clips (ownership) and analytics (job figures from rows, endpoint figures from counters)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Clip, Job
from agentos.errors import NotFoundError
from agentos.services import analytics, clips
from agentos.services.analytics import figures
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime, backends_of
from agentos.settings import Settings
from tests.support.jobs import make_actor, make_job


@pytest.fixture
def session(settings: Settings, runtime: Runtime) -> Iterator[Session]:
    with runtime.session() as session:
        ensure_default_agents(session)
        yield session


def _clip(session: Session, job_id: uuid.UUID, ordinal: int) -> Clip:
    clip = Clip(job_id=job_id, ordinal=ordinal, start=ordinal * 2.0, end=ordinal * 2.0 + 2,
                duration=2.0, width=1280, height=720, status="ready")  # fmt: skip
    session.add(clip)
    session.flush()
    return clip


def test_clips_follow_job_ownership(session: Session) -> None:
    alice, bob = make_actor(session), make_actor(session)
    job = make_job(session, alice, "completed")
    first, second = _clip(session, job.id, 0), _clip(session, job.id, 1)
    assert [c.id for c in clips.for_job(session, job_id=job.id, actor=alice)] == [
        first.id,
        second.id,
    ]
    read = clips.require(session, clip_id=first.id, actor=alice)
    assert (read.start, read.end, read.duration, read.resolution) == (0.0, 2.0, 2.0, "1280x720")
    assert {c.id for c in clips.recent(session, actor=alice, limit=10)} == {first.id, second.id}
    assert clips.recent(session, actor=bob, limit=10) == []
    assert len(clips.recent(session, actor=Actor(name="op", role="operator"), limit=1)) == 1
    with pytest.raises(NotFoundError):
        clips.require(session, clip_id=first.id, actor=bob)
    with pytest.raises(NotFoundError):
        clips.for_job(session, job_id=job.id, actor=bob)


def test_job_metrics_from_rows(session: Session) -> None:
    user = make_actor(session)
    done = [make_job(session, user, "completed").id for _ in range(3)]
    make_job(session, user, "failed")
    make_job(session, user)
    now = utcnow()
    for seconds, job_id in zip((10.0, 20.0, 40.0), done, strict=True):
        job = session.get(Job, job_id)
        assert job is not None
        job.started_at, job.finished_at = now - timedelta(seconds=seconds), now
    session.flush()
    figures = analytics.job_metrics(session)
    assert figures.by_status["completed"] == 3
    assert figures.total == 5
    assert len(figures.throughput_per_hour) == 24
    assert figures.throughput_per_hour[-1].completed == 3
    assert figures.throughput_per_hour[-1].failed == 1
    assert figures.error_rate == pytest.approx(0.25)
    assert figures.mean_processing_s == pytest.approx(70 / 3, rel=1e-3)
    assert figures.p95_processing_s == pytest.approx(20 + 0.9 * 20, rel=1e-3)


def test_endpoint_metrics_from_counters(session: Session) -> None:
    counters = backends_of(session).counters
    route = "/api/jobs/{job_id}"
    minute = analytics.minute_field(utcnow().timestamp())
    for elapsed, status in [(3.0, 200)] * 90 + [(40.0, 404)] * 9 + [(700.0, 500)]:
        for field in ("count", f"s{status // 100}xx", analytics.bucket_field(elapsed), minute):
            counters.incr(analytics.http_key("GET", route, field))
    [endpoint] = [e for e in analytics.endpoint_metrics(session) if e.route == route]
    assert endpoint.requests == 100
    assert (endpoint.rate_4xx, endpoint.rate_5xx) == (0.09, 0.01)
    assert endpoint.p50_ms is not None
    assert 2 < endpoint.p50_ms <= 5
    assert endpoint.p95_ms is not None
    assert 25 < endpoint.p95_ms <= 50
    assert endpoint.p99_ms is not None
    assert 25 < endpoint.p99_ms <= 50
    assert endpoint.throughput_rps > 0


def test_histogram_quantile_interpolates() -> None:
    fields = {"le_10": 50, "le_25": 50}
    assert analytics.histogram_quantile(fields, 0.5) == pytest.approx(10.0)
    assert analytics.histogram_quantile(fields, 0.75) == pytest.approx(17.5)
    assert analytics.histogram_quantile({}, 0.5) is None
    assert analytics.histogram_quantile({"le_inf": 1}, 0.99) == 10000
    assert math.isinf(figures.LATENCY_BUCKETS_MS[-1])
