"""The runner contract and the periodic maintenance both runners schedule.

Two real implementations:
- `runner_embedded.EmbeddedRunner`: per-agent thread pools in this process plus a
  scheduler thread (started by `agentos serve` when no Redis is configured);
- `agentos.tasks.control.CeleryRunner`: Celery workers on the Redis broker; in the server
  (and any process that queues work) it sends the messages and drives the workers with
  Celery's remote control.

The core may not import Celery (import-linter), so `build_runner` loads the Celery one by
its dotted name (`CELERY_RUNNER`), like any configured plugin.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agentos.db.session import session_scope
from agentos.settings import Settings

logger = logging.getLogger(__name__)
CELERY_RUNNER = "agentos.tasks.control:CeleryRunner"


class Runner(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake(self, agent: str) -> None: ...
    # What the switches return is implementation detail (Celery: the workers' replies).
    def set_concurrency(self, agent: str, n: int) -> object: ...
    def pause_agent(self, agent: str) -> object: ...
    def resume_agent(self, agent: str) -> object: ...
    def stats(self) -> dict[str, Any]: ...


_current: Runner | None = None
_lock = threading.Lock()


def build_runner(settings: Settings) -> Runner:
    """The runner for this configuration (not started)."""
    if settings.is_embedded:
        from agentos.services.pipeline.embedded_runner import EmbeddedRunner

        return EmbeddedRunner(settings)
    module_name, _, attribute = CELERY_RUNNER.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    runner: Runner = factory(settings)
    return runner


def install(runner: Runner | None) -> None:
    """Make `runner` the one this process's services talk to (None: forget it)."""
    global _current
    with _lock:
        _current = runner


def current() -> Runner | None:
    """The runner started in this process, if any (agent switches, worker stats)."""
    return _current


# Periodic maintenance -------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[Settings], object]


def _reclaim(settings: Settings) -> object:
    from agentos.services.pipeline import workers

    with session_scope(settings) as session:
        return workers.reclaim_stale(session)


def _warm_ssot(settings: Settings) -> object:
    warm = _optional("agentos.services.admin_data", "warm")
    return warm(settings) if warm is not None else None


def _clean_uploads(settings: Settings) -> object:
    abort_stale = _optional("agentos.services.uploads", "abort_stale")
    if abort_stale is None:
        return None
    with session_scope(settings) as session:
        return abort_stale(session, older_than_s=float(settings.upload_session_ttl_s))


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """A maintenance hook another domain provides, or None while it does not exist."""
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return found if callable(found) else None


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    """What the embedded scheduler thread and Celery beat both run, and how often."""
    return [
        PeriodicJob("warm_ssot", settings.ssot_warm_interval_s, _warm_ssot),
        PeriodicJob("reclaim_stale", settings.reclaim_interval_s, _reclaim),
        PeriodicJob("clean_uploads", settings.upload_cleanup_interval_s, _clean_uploads),
    ]


def run_periodic(settings: Settings, name: str) -> object:
    for job in periodic_jobs(settings):
        if job.name == name:
            return job.run(settings)
    raise KeyError(name)


def start_for_server(app: Any) -> Callable[[], None] | None:
    """`agentos serve` startup hook: the embedded pools, or the Celery sender.

    Embedded: worker threads and the scheduler run in the server when
    `settings.embedded_workers` (the default). Celery: nothing runs stages here, but the
    server queues work, so it sends the messages and controls the workers.
    """
    settings: Settings = app.state.settings
    if settings.is_embedded and not settings.embedded_workers:
        return None
    runner = build_runner(settings)
    runner.start()
    return runner.stop
