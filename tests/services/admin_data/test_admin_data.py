"""The admin read model: section contents against direct SQL, cache-first reads, single
flight, the cache-down fallback and change-driven freshness, on both deployments."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text, update

from agentos.db.models import Job, ProcessingStep, RuntimeSetting, SystemEvent, Worker
from agentos.errors import UnavailableError
from agentos.services import admin_data, events
from agentos.services.admin_data import store
from agentos.services.admin_data.build import build as real_build
from agentos.services.admin_data.feed import Warmer
from agentos.services.backends.base import BusEvent
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings


def _job(status: str, *, created: datetime, finished: datetime | None = None) -> Job:
    return Job(
        title=f"{status} job",
        status=status,
        created_at=created,
        updated_at=finished or created,
        finished_at=finished,
        error="boom" if status == "failed" else None,
    )


def _seed(runtime: Runtime) -> None:
    """Jobs in every status and age bracket, open steps, two workers, events, queue paused."""
    now = datetime.now(UTC)
    with runtime.session() as session:
        ensure_default_agents(session)
        jobs = [_job("pending", created=now), _job("queued", created=now)]
        jobs += [_job("queued", created=now - timedelta(minutes=5)) for _ in range(2)]
        jobs += [_job("processing", created=now - timedelta(minutes=3))]
        jobs += [
            _job(
                "completed", created=now - timedelta(hours=h + 1), finished=now - timedelta(hours=h)
            )
            for h in (0, 0, 2, 30)
        ]
        jobs += [
            _job("failed", created=now - timedelta(hours=2), finished=now - timedelta(minutes=10)),
            _job(
                "cancelled", created=now - timedelta(hours=50), finished=now - timedelta(hours=49)
            ),
        ]
        session.add_all(jobs)
        session.flush()
        session.add_all(
            [
                ProcessingStep(job_id=jobs[1].id, agent="ingest", status="queued"),
                ProcessingStep(
                    job_id=jobs[2].id,
                    agent="probe",
                    status="queued",
                    created_at=now - timedelta(minutes=4),
                ),
                ProcessingStep(
                    job_id=jobs[4].id,
                    agent="scenes",
                    status="running",
                    worker_id="w1",
                    started_at=now,
                ),
                Worker(
                    name="w-online",
                    kind="embedded",
                    hostname="h",
                    pid=1,
                    tasks_done=7,
                    agents=["ingest", "scenes"],
                ),
                Worker(
                    name="w-stale",
                    kind="celery",
                    hostname="h",
                    pid=2,
                    heartbeat_at=now - timedelta(minutes=10),
                ),
                SystemEvent(severity="error", source="test", message="it broke"),
                SystemEvent(severity="info", source="test", message="fine"),
                RuntimeSetting(key="queue.paused", value=True),
            ]
        )


def _scalar(runtime: Runtime, sql: str, **params: Any) -> int:
    with runtime.session() as session:
        return int(session.execute(text(sql), params).scalar_one())


def test_sections_equal_direct_sql_counts(settings: Settings, runtime: Runtime) -> None:
    _seed(runtime)
    document = admin_data.collect(runtime)
    dashboard = document.dashboard
    with runtime.session() as session:
        by_status = dict(
            session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        )
    for status, count in dashboard.jobs_by_status.items():
        assert count == by_status.get(status, 0), status
    assert dashboard.total_jobs == _scalar(runtime, "SELECT count(*) FROM jobs") == 11
    assert dashboard.active_jobs == by_status["processing"] + by_status["queued"] == 4
    assert dashboard.completed_today == _scalar(
        runtime,
        "SELECT count(*) FROM jobs WHERE status = 'completed' AND finished_at >= :today",
        today=_param(
            settings, datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        ),
    )
    assert dashboard.throughput_per_hour == 2
    assert dashboard.error_rate == round(1 / 4, 4)  # 3 completed + 1 failed in 24 h
    assert dashboard.queue_paused is True
    assert dashboard.unacknowledged_errors == 1
    assert (dashboard.agents_total, dashboard.agents_enabled) == (6, 6)
    assert dashboard.workers_online == 1

    agents = {agent.name: agent for agent in document.agents_workers.agents}
    assert agents["ingest"].queue_depth == 1
    assert agents["probe"].queue_depth == 1
    assert agents["scenes"].running == 1
    assert agents["scenes"].state == "busy"
    # No online worker serves probe: its waiting work is stalled, and the dashboard says so.
    assert agents["probe"].state == "stalled"
    (warning,) = dashboard.warnings
    assert warning.code == "AGENTS_UNSERVED"
    assert "probe" in warning.message
    assert "1 stage(s)" in warning.message
    assert agents["scenes"].current_work[0].worker_id == "w1"
    workers = {worker.name: worker for worker in document.agents_workers.workers}
    assert workers["w-online"].online
    assert workers["w-online"].tasks_done == 7
    assert not workers["w-stale"].online
    assert (document.agents_workers.process is not None) == settings.is_embedded

    queue = document.queue
    assert queue.paused is True
    assert queue.total_depth == _scalar(
        runtime, "SELECT count(*) FROM processing_steps WHERE status = 'queued'"
    )
    assert (queue.pending_jobs, queue.queued_jobs, queue.processing_jobs) == (1, 3, 1)
    assert queue.oldest_waiting_s is not None
    assert queue.oldest_waiting_s >= 200

    analytics = document.analytics
    assert len(analytics.buckets) == analytics.hours == 24
    assert analytics.completed == 3
    assert analytics.failed == 1
    assert analytics.created == _scalar(
        runtime,
        "SELECT count(*) FROM jobs WHERE created_at >= :since",
        since=_param(settings, _hour_floor()),
    )
    assert len(document.logs.recent_events) == 2
    assert [event.message for event in document.logs.recent_errors] == ["it broke"]
    assert [job.error for job in document.logs.failed_jobs] == ["boom"]


def _hour_floor() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)


def _param(settings: Settings, moment: datetime) -> datetime:
    """A timestamp as raw SQL compares it: SQLite stores naive UTC."""
    return moment.replace(tzinfo=None) if settings.is_sqlite else moment


def test_document_bytes_serialise_uuids_datetimes(settings: Settings, runtime: Runtime) -> None:
    _seed(runtime)
    document = admin_data.get_document(runtime)
    parsed = orjson.loads(document.body)
    assert set(parsed) >= {"dashboard", "agents_workers", "analytics", "queue", "logs"}
    uuid.UUID(parsed["logs"]["recent_events"][0]["id"])
    datetime.fromisoformat(parsed["built_at"])
    assert orjson.loads(document.section("dashboard")) == parsed["dashboard"]


def test_hit_after_warm(settings: Settings, runtime: Runtime) -> None:
    result = admin_data.warm(runtime)
    assert result is not None
    assert result.cached
    assert result.size_bytes > 0
    first = admin_data.get_document(runtime)
    second = admin_data.get_document(runtime)
    assert (first.source, second.source) == ("hit", "hit")
    assert first.body == second.body
    assert first.built_at == result.built_at.timestamp()
    health = admin_data.health(runtime)
    assert health.cached
    assert health.hits == 2
    assert health.misses == 0
    assert health.rebuilds == 1
    assert admin_data.warm(runtime) is None  # still fresh: nothing to do


def test_hit_from_shared_cache_in_another_store(settings: Settings, runtime: Runtime) -> None:
    admin_data.rebuild(runtime)
    other = store.SsotStore(runtime)  # another process, same cache
    try:
        document = other.get()
        assert document.source == "hit"
        assert document.body == admin_data.get_document(runtime).body
    finally:
        other.close()


def test_single_flight_many_concurrent_misses(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []

    def counting_build(settings: Settings, *, source: Any) -> Any:
        calls.append(time.time())
        time.sleep(0.3)  # long enough that every reader arrives while it runs
        return real_build(settings, source=source)

    monkeypatch.setattr(store, "build", counting_build)
    peer = store.SsotStore(runtime)  # a second "process" on the same cache
    stores = [admin_data.store_for(runtime), peer]
    results: list[Any] = []
    barrier = threading.Barrier(16)

    def read(index: int) -> None:
        barrier.wait()
        results.append(stores[index % 2].get())

    threads = [threading.Thread(target=read, args=(index,)) for index in range(16)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        peer.close()
    assert len(calls) == 1
    assert len(results) == 16
    assert {result.built_at for result in results} == {results[0].built_at}
    assert {result.source for result in results} <= {"miss", "hit"}


class _DownCache:
    """A cache whose server is gone: every call fails as the Redis backend does."""

    name = "down"

    def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise UnavailableError("cache is down", code="CACHE_UNAVAILABLE")

        return fail


def test_cache_down_collects_directly(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(runtime)
    assert admin_data.get_document(runtime).source == "miss"
    monkeypatch.setattr(runtime.backends, "cache", _DownCache())
    admin_data.store_for(runtime).invalidate()
    document = admin_data.get_document(runtime)
    assert document.source == "direct"
    assert orjson.loads(document.body)["dashboard"]["total_jobs"] == 11
    assert admin_data.get_document(runtime).source == "direct"  # not served from a stale copy
    health = admin_data.health(runtime)
    assert not health.cache_available
    assert health.direct == 2
    result = admin_data.rebuild(runtime)
    assert not result.cached


def test_change_event_makes_next_read_fresh(settings: Settings, runtime: Runtime) -> None:
    _seed(runtime)
    store = admin_data.store_for(runtime)
    before = admin_data.get_document(runtime)
    assert admin_data.get_document(runtime).source == "hit"
    seen = store.last_change_at
    with runtime.session() as session:
        session.add(_job("queued", created=datetime.now(UTC)))
        events.announce(session, "job.created", job_id=uuid.uuid4())
    deadline = time.monotonic() + 5
    while store.last_change_at == seen and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.last_change_at > seen, "the change event never reached the feed"
    after = admin_data.get_document(runtime)
    assert after.source == "miss"
    assert after.built_at > before.built_at
    assert orjson.loads(after.body)["dashboard"]["total_jobs"] == 12


def test_warmer_coalesces_a_flood_of_changes() -> None:
    release, calls = threading.Event(), []

    def slow_warm() -> None:
        calls.append(1)
        if len(calls) == 1:
            release.wait(10)  # the first rebuild is still running while changes pour in

    warmer = Warmer(interval_s=lambda: 60.0, warm=slow_warm)
    warmer.MIN_GAP_S = 0.2
    warmer.start()
    try:
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(200):
            warmer.poke()
        release.set()
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        warmer.stop()
    assert len(calls) == 2  # 200 changes during one rebuild: exactly one more rebuild


def test_a_change_is_rebuilt_at_once_only_while_the_document_is_read(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unread, a change only marks the document stale (the next read or the interval's warm
    brings it in); read in the last minute, it wakes the warmer too."""
    ssot = store.SsotStore(runtime)
    pokes: list[int] = []
    monkeypatch.setattr(ssot.warmer, "poke", lambda: pokes.append(1))
    change = BusEvent(channel="events", payload={"kind": "job.created"})
    ssot._changed(change)
    assert pokes == []
    assert ssot.last_change_at > 0
    stale = ssot.last_change_at
    ssot.get()  # a reader: built for it now, and the document counts as watched
    ssot._changed(change)
    assert pokes == [1]
    assert ssot.last_change_at >= stale
    ssot.close()


def test_no_worker_online_is_the_first_warning(runtime: Runtime) -> None:
    """With work queued and every worker gone, agents are stalled, not busy or idle."""
    _seed(runtime)
    with runtime.session() as session:
        session.execute(update(Worker).values(status="offline"))
    document = admin_data.collect(runtime)
    (warning,) = document.dashboard.warnings
    assert warning.code == "NO_WORKERS"
    assert "3 stage(s) of work stalled" in warning.message
    assert "agentos worker" in warning.message
    states = {agent.name: agent.state for agent in document.agents_workers.agents}
    assert states["ingest"] == states["probe"] == states["scenes"] == "stalled"
    assert states["clipper"] == "idle"
