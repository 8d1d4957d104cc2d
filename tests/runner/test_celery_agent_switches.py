"""A real Celery worker follows agent switches made by another process, as soon as they are
announced: consumers cancelled and added again, a dedicated worker's pool resized.

The worker's heartbeat (which also re-reads the switches) is set far longer than the
waits here, so only the announcement on the bus can have made the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentos.services.actions import pipeline
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tasks.app import app_for
from tests.support import celery, services
from tests.support.pipeline import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
WORKER = "switches@localhost"
OPERATOR = Actor(name="op", role="operator", source="cli")
SWITCH_WAIT_S = 10.0  # well under the heartbeat below


@pytest.fixture
def celery_settings(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    result = celery.celery_settings(
        postgres_url,
        redis_url,
        tmp_path / "home",
        heartbeat_interval_s=60.0,
        worker_lost_after_s=180.0,
    )
    with Runtime(result).session() as session:
        ensure_default_agents(session)
    yield result
    services.flush_redis_prefix(result)


@pytest.fixture
def probe_worker(
    celery_settings: Settings, celery_runtime: Runtime, tmp_path: Path
) -> Iterator[str]:
    """An `agentos worker` serving only the probe agent, with one process."""
    args = ["--agents", "probe", "--concurrency", "1", "--name", WORKER]
    process = celery.start_worker(celery_settings, args, log=tmp_path / "worker.log")
    try:
        wait_for(lambda: _consumes_probe(celery_runtime) is True, timeout_s=60, what="the worker")
        yield WORKER
    finally:
        celery.stop_worker(process)


def _inspect(runtime: Runtime) -> Any:
    return app_for(runtime).control.inspect(destination=[WORKER], timeout=1.0)


def _consumes_probe(runtime: Runtime) -> bool | None:
    """Whether the worker consumes the probe queue (None: it did not answer)."""
    replies = _inspect(runtime).active_queues() or {}
    if WORKER not in replies:
        return None
    return "probe" in {queue["name"] for queue in replies[WORKER]}


def _processes(runtime: Runtime) -> int:
    stats = (_inspect(runtime).stats() or {}).get(WORKER, {})
    return len(stats.get("pool", {}).get("processes", []))


def _act(runtime: Runtime, action: str, payload: dict[str, Any]) -> None:
    with runtime.session() as session:
        pipeline.execute(session, actor=OPERATOR, action=action, payload=payload)


def test_stop_start_and_concurrency_reach_the_worker_at_once(
    celery_runtime: Runtime, probe_worker: str
) -> None:
    _act(celery_runtime, "agent.stop", {"agent_id": "probe"})
    wait_for(
        lambda: _consumes_probe(celery_runtime) is False,
        timeout_s=SWITCH_WAIT_S,
        what="the probe consumer to be cancelled",
    )
    _act(celery_runtime, "agent.start", {"agent_id": "probe"})
    wait_for(
        lambda: _consumes_probe(celery_runtime) is True,
        timeout_s=SWITCH_WAIT_S,
        what="the probe consumer to be added again",
    )
    assert _processes(celery_runtime) == 1
    _act(celery_runtime, "agent.set_concurrency", {"agent_id": "probe", "concurrency": 3})
    wait_for(
        lambda: _processes(celery_runtime) == 3,
        timeout_s=SWITCH_WAIT_S,
        what="the dedicated worker's pool to grow to 3",
    )
    _act(celery_runtime, "agent.set_concurrency", {"agent_id": "probe", "concurrency": 2})
    wait_for(
        lambda: _processes(celery_runtime) == 2,
        timeout_s=SWITCH_WAIT_S,
        what="the pool to shrink to 2",
    )


@pytest.fixture
def celery_runtime(celery_settings: Settings) -> Iterator[Runtime]:
    built = Runtime(celery_settings)
    yield built
    built.close()
