"""The Celery runner as the server (or any sending process) sees it.

It does not run stages: `agentos worker` processes do. It sends the messages for queued
steps (a registered `CeleryDispatcher` plus a sweep thread) and drives the workers with
Celery's own remote control, so the switches act on ordinary Celery workers:
stop an agent -> `cancel_consumer(queue)`, start -> `add_consumer(queue)`, concurrency ->
`pool_grow`/`pool_shrink` on the workers that serve only that agent, stats -> psutil here
plus `inspect().stats()` / `active()` there.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psutil
from sqlalchemy import select

from agentos.db.models import Worker
from agentos.services.pipeline import runner as runner_registry
from agentos.services.pipeline import worker_control
from agentos.services.runtime import Runtime
from agentos.tasks.app import app_for
from agentos.tasks.dispatcher import CeleryDispatcher
from agentos.tasks.remote_control import CeleryWorkerControl

logger = logging.getLogger(__name__)
REPLY_TIMEOUT_S = 1.0


class CeleryRunner:
    kind = "celery"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime, self.settings = runtime, runtime.settings
        self.app = app_for(runtime)
        self.dispatcher = CeleryDispatcher(runtime, self.app)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.runtime.dispatch.register(self.dispatcher)
        runner_registry.install(self.runtime, self)
        worker_control.use(self.runtime, CeleryWorkerControl.for_runtime)
        self._thread = threading.Thread(target=self._sweep_loop, name="celery-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.runtime.dispatch.unregister(self.dispatcher)
        runner_registry.uninstall(self.runtime, self)
        if self._thread is not None:
            self._thread.join(5)

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.settings.celery_dispatch_sweep_s):
            try:
                self.dispatcher.send_pending()
            except Exception:
                logger.exception("dispatch sweep failed")

    def wake(self, agent: str) -> None:
        self.dispatcher.wake(agent)

    def _workers_serving(self, agent: str, *, only: bool = False) -> list[str]:
        with self.runtime.session() as session:
            rows = session.execute(
                select(Worker.name, Worker.agents).where(
                    Worker.kind == "celery", Worker.status == "online"
                )
            ).all()
        return [
            name
            for name, agents in rows
            if agent in (agents or []) and (not only or list(agents) == [agent])
        ]

    def pause_agent(self, agent: str) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = (
            self.app.control.cancel_consumer(agent, reply=True, timeout=REPLY_TIMEOUT_S) or []
        )
        return replies

    def resume_agent(self, agent: str) -> list[dict[str, Any]]:
        targets = self._workers_serving(agent)
        replies: list[dict[str, Any]] = []
        if targets:
            replies = (
                self.app.control.add_consumer(
                    agent,
                    routing_key=agent,
                    destination=targets,
                    reply=True,
                    timeout=REPLY_TIMEOUT_S,
                )
                or []
            )
        self.wake(agent)
        return replies

    def set_concurrency(self, agent: str, n: int) -> dict[str, int]:
        """Resize the pool of every worker dedicated to `agent` to `n` processes."""
        targets = self._workers_serving(agent, only=True)
        if not targets:
            return {}
        stats = self.app.control.inspect(destination=targets, timeout=REPLY_TIMEOUT_S).stats() or {}
        changed: dict[str, int] = {}
        for name, info in stats.items():
            current = int(info.get("pool", {}).get("max-concurrency", 0))
            delta = n - current
            if delta > 0:
                self.app.control.pool_grow(
                    delta, destination=[name], reply=True, timeout=REPLY_TIMEOUT_S
                )
            elif delta < 0:
                self.app.control.pool_shrink(
                    -delta, destination=[name], reply=True, timeout=REPLY_TIMEOUT_S
                )
            changed[name] = n
        return changed

    def revoke(self, task_id: str, *, terminate: bool = False) -> None:
        self.app.control.revoke(task_id, terminate=terminate)

    def ping(self) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = self.app.control.ping(timeout=REPLY_TIMEOUT_S) or []
        return replies

    def stats(self) -> dict[str, Any]:
        inspector = self.app.control.inspect(timeout=REPLY_TIMEOUT_S)
        process = psutil.Process()
        return {
            "kind": self.kind,
            "workers": inspector.stats() or {},
            "active": inspector.active() or {},
            "active_queues": inspector.active_queues() or {},
            "sender": {
                "cpu_percent": process.cpu_percent(interval=None),
                "memory_bytes": process.memory_info().rss,
            },
        }
