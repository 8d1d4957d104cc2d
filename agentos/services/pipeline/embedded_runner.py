"""The embedded runner: per-agent thread pools and a scheduler thread in this process.

Queued work lives in the database, so this runner claims it with `claims.claim_next` (a
conditional UPDATE). A claim pass runs when a service in this process queues work
(`wake`, registered as a dispatcher) and every `settings.runner_poll_interval_s`, so work
queued by another process on the same home (a local `agentos jobs submit`) is found
within about that long.

Each agent has its own pool; the number of its steps running at once is held at the
agent's `concurrency` (read from the `agents` table on every pass, so a change made by
any process applies live: growing starts more claims, shrinking lets running stages
finish and claims no more until below the new size). A stopped agent (`enabled` false,
or `pause_agent` here) claims nothing; its queued work waits.

The runner as a whole is a worker with a pool: `pool_size` (None: the sum of its agents'
concurrency) caps the stages it runs at once across agents; the worker actions grow,
shrink or autoscale it, or drain it for a warm shutdown (`embedded_control`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
from sqlalchemy import select

from agentos import telemetry
from agentos.db.models import Agent
from agentos.schemas.work import ClaimedStep
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.pipeline import claims, embedded_control, step_runner, workers
from agentos.services.pipeline import runner as runner_registry
from agentos.services.runtime import Runtime

logger = logging.getLogger(__name__)
MAX_THREADS_PER_AGENT = 32


class EmbeddedRunner:
    kind = "embedded"

    def __init__(
        self, runtime: Runtime, *, name: str | None = None, agents: set[str] | None = None
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.name = name or workers.default_worker_name("embedded")
        self.agents = set(agents or PIPELINE)
        self._concurrency: dict[str, int] = dict.fromkeys(self.agents, 1)
        self._paused: set[str] = set()
        self.active_by_agent: dict[str, int] = defaultdict(int)
        self._pools = {
            agent: ThreadPoolExecutor(MAX_THREADS_PER_AGENT, thread_name_prefix=f"agent-{agent}")
            for agent in self.agents
        }
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._process = psutil.Process()
        self.tasks_done = 0
        self.tasks_failed = 0
        self.outcomes: dict[str, int] = defaultdict(int)
        self.started = time.time()
        self.pool_size: int | None = None
        self.autoscale_bounds: tuple[int, int] | None = None
        self.draining = threading.Event()
        self.running: dict[uuid.UUID, ClaimedStep] = {}
        self._responder = embedded_control.ControlResponder(self)

    # Runner contract ---------------------------------------------------------------

    def start(self) -> None:
        with self.runtime.session() as session:
            ensure_default_agents(session)
        self._heartbeat()
        self._refresh_concurrency()
        self.runtime.dispatch.register(self)
        runner_registry.install(self.runtime, self)
        self._responder.start()
        for target, label in ((self._claim_loop, "claim"), (self._scheduler_loop, "scheduler")):
            thread = threading.Thread(target=target, name=f"runner-{label}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop claiming; running stages stop at their next check and go back to the queue."""
        self._stopping.set()
        self._wake.set()
        self._responder.stop()
        self.runtime.dispatch.unregister(self)
        runner_registry.uninstall(self.runtime, self)
        for thread in self._threads:
            thread.join(timeout_s)
        for pool in self._pools.values():
            pool.shutdown(wait=True)
        try:
            with self.runtime.session() as session:
                workers.worker_offline(session, name=self.name)
        except Exception:
            logger.exception("could not mark worker %s offline", self.name)

    def wake(self, agent: str) -> None:
        if agent in self.agents:
            self._wake.set()

    def wake_all(self) -> None:
        self._wake.set()

    def set_concurrency(self, agent: str, n: int) -> None:
        """Apply at once; the `agents` table (which the caller persists) stays the truth."""
        with self.lock:
            self._concurrency[agent] = max(0, n)
        self._wake.set()

    def pause_agent(self, agent: str) -> None:
        with self.lock:
            self._paused.add(agent)

    def resume_agent(self, agent: str) -> None:
        with self.lock:
            self._paused.discard(agent)
        self._wake.set()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            agents = {
                agent: {
                    "concurrency": self._concurrency.get(agent, 0),
                    "active": self.active_by_agent.get(agent, 0),
                    "paused": agent in self._paused,
                }
                for agent in sorted(self.agents, key=PIPELINE.index)
            }
        return {
            "kind": self.kind,
            "name": self.name,
            "agents": agents,
            "tasks_done": self.tasks_done,
            "tasks_failed": self.tasks_failed,
            "outcomes": dict(self.outcomes),
            "cpu_percent": self._process.cpu_percent(interval=None),
            "memory_bytes": self._process.memory_info().rss,
            "threads": self._process.num_threads(),
        }

    # Claiming ------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        refreshed = time.monotonic()
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                # Concurrency set through this process applies at once (`set_concurrency`);
                # a change made by another process is read once per poll interval, not on
                # every wake (a wake comes with every finished stage).
                if time.monotonic() - refreshed >= self.settings.runner_poll_interval_s:
                    refreshed = time.monotonic()
                    self._refresh_concurrency()
                self._claim_all()
            except Exception:
                logger.exception("embedded runner claim pass failed")
            self._wake.wait(self.settings.runner_poll_interval_s)

    def _refresh_concurrency(self) -> None:
        with self.runtime.session() as session:
            rows = session.execute(select(Agent.name, Agent.concurrency)).all()
        with self.lock:
            for name, concurrency in rows:
                if name in self.agents:
                    self._concurrency[name] = concurrency

    def effective_pool_size(self) -> int:
        """Stages this runner may run at once (call holding `lock`)."""
        if self.pool_size is not None:
            return self.pool_size
        return sum(self._concurrency.get(agent, 0) for agent in self.agents)

    def _pool_full(self) -> bool:
        busy = sum(self.active_by_agent.values())
        return self.draining.is_set() or busy >= self.effective_pool_size()

    def _free_agents(self) -> set[str]:
        with self.lock:
            if self._pool_full():
                return set()
            return {
                agent
                for agent in self.agents
                if agent not in self._paused
                and self.active_by_agent[agent] < self._concurrency.get(agent, 0)
            }

    def _claim_all(self) -> None:
        while not self._stopping.is_set():
            free = self._free_agents()
            if not free:
                return
            with self.runtime.session(relaxed=True) as session:
                claimed = claims.claim_next(session, agents=free, worker_id=self.name)
            if claimed is None:
                return
            with self.lock:
                self.active_by_agent[claimed.agent] += 1
            self._pools[claimed.agent].submit(self._run, claimed)

    # Handover (pipeline/handover.py): the next stage of a job that just finished a stage
    # here starts at once in that agent's pool, holding one of its slots.

    def reserve(self, agent: str) -> bool:
        with self.lock:
            free = (
                agent in self.agents
                and agent not in self._paused
                and not self._stopping.is_set()
                and not self._pool_full()
                and self.active_by_agent[agent] < self._concurrency.get(agent, 0)
            )
            if free:
                self.active_by_agent[agent] += 1
            return free

    def release(self, agent: str) -> None:
        with self.lock:
            self.active_by_agent[agent] -= 1
        self._wake.set()

    def _run(self, claimed: ClaimedStep) -> None:
        status = "error"
        handed: ClaimedStep | None = None
        with self.lock:
            self.running[claimed.step_id] = claimed
        started = time.perf_counter()
        try:
            outcome = step_runner.run_step(
                self.runtime, claimed=claimed, should_stop=self._stopping.is_set, handover=self
            )
            status, handed = outcome.status, outcome.next_claimed
        except Exception:
            logger.exception("step %s crashed its runner thread", claimed.step_id)
        finally:
            telemetry.stage(claimed.agent, status, time.perf_counter() - started)
            with self.lock:
                self.active_by_agent[claimed.agent] -= 1
                self.running.pop(claimed.step_id, None)
                self.outcomes[status] += 1
                if status == "completed":
                    self.tasks_done += 1
                elif status in ("failed", "retrying", "error"):
                    self.tasks_failed += 1
            self._wake.set()
        if handed is not None:
            self._start_handed(handed)

    def _start_handed(self, claimed: ClaimedStep) -> None:
        try:
            self._pools[claimed.agent].submit(self._run, claimed)
        except RuntimeError:  # the runner is stopping and that pool is closed already
            self.release(claimed.agent)
            step_runner.give_back(self.runtime, claimed, reason="its runner stopped")

    # Scheduler -------------------------------------------------------------------------

    def _scheduler_loop(self) -> None:
        jobs = runner_registry.periodic_jobs(self.settings)
        now = time.monotonic()
        due = {job.name: now + job.interval_s for job in jobs}
        next_beat = now + self.settings.heartbeat_interval_s
        next_scale = now
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + self.settings.heartbeat_interval_s
                self._guarded("heartbeat", self._heartbeat)
            if now >= next_scale:
                next_scale = now + embedded_control.AUTOSCALE_INTERVAL_S
                self._guarded("autoscale", lambda: embedded_control.autoscale(self))
            for job in jobs:
                if now >= due[job.name]:
                    due[job.name] = now + job.interval_s
                    self._guarded(job.name, lambda job=job: job.run(self.runtime))

    def _guarded(self, name: str, action: Any) -> None:
        try:
            action()
        except Exception:
            logger.exception("periodic task %s failed", name)

    def _heartbeat(self) -> None:
        with self.lock:
            concurrency = self.effective_pool_size()
        with self.runtime.session() as session:
            workers.worker_heartbeat(
                session,
                name=self.name,
                kind=self.kind,
                agents=sorted(self.agents),
                concurrency=concurrency,
                cpu_percent=self._process.cpu_percent(interval=None),
                memory_bytes=self._process.memory_info().rss,
                tasks_done=self.tasks_done,
                tasks_failed=self.tasks_failed,
            )
