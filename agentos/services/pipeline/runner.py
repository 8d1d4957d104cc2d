"""The runner contract and the periodic maintenance both runners schedule.

Two real implementations, chosen at the boundary (`agentos serve`, `agentos worker`):
- `embedded_runner.EmbeddedRunner`: per-agent thread pools in this process plus a
  scheduler thread (started by `agentos serve` when no Redis is configured);
- `agentos.tasks.control.CeleryRunner`: Celery workers on the Redis broker; in the server
  (and any process that queues work) it sends the messages and drives the workers with
  Celery's remote control.

A started runner installs itself on its runtime (`install`), where the agent switches and
the worker figures find it (`current`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agentos.services import admin_data, health
from agentos.services.logs import search as log_search
from agentos.services.pipeline import workers
from agentos.services.runtime import Runtime
from agentos.services.security import audit_verify
from agentos.services.uploads import abort_stale
from agentos.settings import Settings

logger = logging.getLogger(__name__)


class Runner(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake(self, agent: str) -> None: ...
    # What the switches return is implementation detail (Celery: the workers' replies).
    def set_concurrency(self, agent: str, n: int) -> object: ...
    def pause_agent(self, agent: str) -> object: ...
    def resume_agent(self, agent: str) -> object: ...
    def stats(self) -> dict[str, Any]: ...


# Builds the runner a process starts (None: no runner in this process).
RunnerFactory = Callable[[Runtime], Runner | None]


def install(runtime: Runtime, runner: Runner | None) -> None:
    """Make `runner` the one this runtime's services talk to (None: forget it)."""
    runtime.runner = runner


def uninstall(runtime: Runtime, runner: Runner) -> None:
    if runtime.runner is runner:
        runtime.runner = None


def current(runtime: Runtime) -> Runner | None:
    """The runner started on this runtime, if any (agent switches, worker stats)."""
    found = runtime.runner
    return found if found is not None and hasattr(found, "stats") else None  # type: ignore[return-value]


# Periodic maintenance -------------------------------------------------------------------


LOG_PURGE_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[Runtime], object]


def _reclaim(runtime: Runtime) -> object:
    with runtime.session() as session:
        return workers.reclaim_stale(session)


def _warm_ssot(runtime: Runtime) -> object:
    return admin_data.warm(runtime)


def _clean_uploads(runtime: Runtime) -> object:
    with runtime.session() as session:
        return abort_stale(session, older_than_s=float(runtime.settings.upload_session_ttl_s))


def _anchor_audit(runtime: Runtime) -> object:
    return audit_verify.write_anchor(runtime).seq


def _purge_logs(runtime: Runtime) -> object:
    with runtime.session() as session:
        return log_search.purge(
            session, older_than_days=runtime.settings.log_retention_days, dry_run=False
        )


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    """What the embedded scheduler thread and Celery beat both run, and how often."""
    return [
        PeriodicJob("anchor_audit", settings.audit_anchor_interval_s, _anchor_audit),
        PeriodicJob("warm_ssot", settings.ssot_warm_interval_s, _warm_ssot),
        PeriodicJob("reclaim_stale", settings.reclaim_interval_s, _reclaim),
        PeriodicJob("clean_uploads", settings.upload_cleanup_interval_s, _clean_uploads),
        PeriodicJob("purge_logs", LOG_PURGE_INTERVAL_S, _purge_logs),
        PeriodicJob("watch_dependencies", settings.ssot_warm_interval_s, health.watch),
    ]


def run_periodic(runtime: Runtime, name: str) -> object:
    for job in periodic_jobs(runtime.settings):
        if job.name == name:
            return job.run(runtime)
    raise KeyError(name)
