"""What a Celery worker process adds to plain Celery: its dispatcher and its heartbeat.

- worker_init: register a `CeleryDispatcher`, so a finished stage sends the next one;
- worker_process_init (prefork children): drop database connections inherited from the
  parent (closing them would close the parent's too);
- worker_ready: a heartbeat thread writes this worker's `workers` row (psutil figures of
  the whole process tree), sends messages for unsent queued steps, and makes the agents
  table's on/off switches real by cancelling or adding this worker's queue consumers;
  a listener thread applies a switch as soon as its change is announced on the bus (so
  a start, stop or concurrency change made by any process reaches the consumers at
  once, not a heartbeat later); a worker dedicated to one agent resizes its pool to that
  agent's new concurrency;
- worker_shutdown: the row goes offline.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import psutil
from celery import Celery, signals
from celery.worker.control import inspect_command
from sqlalchemy import select

from agentos.db.models import Agent
from agentos.services import events
from agentos.services.config import live as config_live
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.logs import setup as logs_setup
from agentos.services.pipeline import workers
from agentos.services.runtime import Runtime
from agentos.tasks.app import process_runtime
from agentos.tasks.dispatcher import CeleryDispatcher

logger = logging.getLogger(__name__)
_state: dict[str, Any] = {}


@signals.worker_init.connect
def _worker_init(sender: Any = None, **_: Any) -> None:
    runtime = process_runtime()
    logs_setup.configure(runtime, process="worker")
    dispatcher = CeleryDispatcher(runtime, sender.app)
    runtime.dispatch.register(dispatcher)
    _state["dispatcher"] = dispatcher
    with runtime.session() as session:
        ensure_default_agents(session)


@signals.worker_process_init.connect
def _child_init(**_: Any) -> None:
    runtime = process_runtime()
    runtime.engine.dispose(close=False)
    runtime.relaxed_engine.dispose(close=False)
    logs_setup.configure(runtime, process="worker")
    # A pool process runs the stages: it applies runtime configuration (log levels among
    # it) itself, from the stored values and then as each change is announced.
    config_live.load(runtime)
    threading.Thread(
        target=follow_changes,
        args=(runtime, lambda change: config_live.handle_change(runtime, change)),
        kwargs={"on_subscribed": lambda: config_live.load(runtime)},
        name="agentos-config",
        daemon=True,
    ).start()


def follow_changes(
    runtime: Runtime,
    on_change: Callable[[dict[str, Any]], None],
    stop: threading.Event | None = None,
    *,
    on_subscribed: Callable[[], object] | None = None,
) -> None:
    """Call `on_change` with every announced change until `stop`; reconnect if the bus drops.

    `on_subscribed` runs after every (re)subscription: a change announced before it was
    not heard, so whatever it re-reads from the stored state covers that gap.
    """
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            subscription = runtime.backends.bus.subscribe(events.CHANGES_CHANNEL)
        except Exception:
            logger.warning("change listener: bus unavailable, retrying")
            stop.wait(runtime.settings.heartbeat_interval_s)
            continue
        if on_subscribed is not None:
            try:
                on_subscribed()
            except Exception:
                logger.exception("re-reading the stored state after subscribing failed")
        try:
            while not stop.is_set():
                event = subscription.get(timeout_s=0.5)
                if event is not None:
                    try:
                        on_change(event.payload)
                    except Exception:
                        logger.exception("applying an announced change failed")
        except Exception:
            logger.warning("change listener lost the bus; resubscribing")
        finally:
            subscription.close()


@signals.worker_ready.connect
def _worker_ready(sender: Any = None, **_: Any) -> None:
    queues = {queue.name for queue in sender.task_consumer.queues}
    agents = sorted((queues & set(PIPELINE)), key=PIPELINE.index)
    beat = WorkerHeartbeat(
        process_runtime(),
        app=sender.app,
        name=sender.hostname,
        agents=agents,
        pool=sender.pool,
        dispatcher=_state.get("dispatcher"),
    )
    _state["heartbeat"] = beat
    beat.start()


@signals.worker_shutdown.connect
def _worker_shutdown(**_: Any) -> None:
    beat: WorkerHeartbeat | None = _state.pop("heartbeat", None)
    if beat is not None:
        beat.stop()


@inspect_command(name="agentos_stats")
def agentos_stats(state: Any, **_: Any) -> dict[str, Any]:
    """`worker.stats`' own figures: psutil of the process tree, load, autoscale bounds."""
    cpu, memory = process_tree_usage(psutil.Process())
    autoscaler = getattr(state.consumer.controller, "autoscaler", None)
    bounds = [autoscaler.min_concurrency, autoscaler.max_concurrency] if autoscaler else None
    failed = None
    beat: WorkerHeartbeat | None = _state.get("heartbeat")
    if beat is not None:
        with beat.runtime.read_session() as session:
            failed = workers.failed_on(session, beat.worker_name)
    return {
        "cpu_percent": cpu,
        "memory_bytes": memory,
        "load_avg": [round(value, 2) for value in os.getloadavg()],
        "autoscale": bounds,
        "tasks_failed": failed,
    }


def process_tree_usage(root: psutil.Process) -> tuple[float, int]:
    cpu, memory = 0.0, 0
    for process in [root, *root.children(recursive=True)]:
        try:
            cpu += process.cpu_percent(interval=None)
            memory += process.memory_info().rss
        except psutil.Error:
            continue
    return cpu, memory


class WorkerHeartbeat(threading.Thread):
    def __init__(
        self,
        runtime: Runtime,
        *,
        app: Celery,
        name: str,
        agents: list[str],
        pool: Any,
        dispatcher: CeleryDispatcher | None,
    ) -> None:
        super().__init__(name="agentos-heartbeat", daemon=True)
        self.runtime, self.settings = runtime, runtime.settings
        self.app, self.worker_name = app, name
        self.agents, self.pool, self.dispatcher = agents, pool, dispatcher
        self.consuming = set(agents)
        self._stop_event = threading.Event()
        self._process = psutil.Process()
        self._switch_lock = threading.Lock()
        self._listener = threading.Thread(target=self.listen, name="agentos-switches", daemon=True)

    def start(self) -> None:
        config_live.load(self.runtime)  # runtime configuration before the first task
        super().start()
        self._listener.start()

    def run(self) -> None:
        interval = min(self.settings.heartbeat_interval_s, self.settings.celery_dispatch_sweep_s)
        beat_every = self.settings.heartbeat_interval_s
        since_beat = beat_every
        while True:
            if since_beat >= beat_every:
                since_beat = 0.0
                self._guard(self.beat)
                self._guard(self.follow_switches)
            self._guard(self.sweep)
            if self._stop_event.wait(interval):
                return
            since_beat += interval

    def stop(self) -> None:
        self._stop_event.set()
        self._guard(self._offline)

    def _guard(self, action: Any) -> None:
        try:
            action()
        except Exception:
            logger.exception("worker heartbeat task failed")

    def beat(self) -> None:
        cpu, memory = self._usage()
        with self.runtime.session() as session:
            workers.worker_heartbeat(
                session,
                name=self.worker_name,
                kind="celery",
                agents=self.agents,
                concurrency=int(getattr(self.pool, "num_processes", 0) or 0)
                or int(getattr(self.pool, "limit", 1) or 1),
                cpu_percent=cpu,
                memory_bytes=memory,
            )

    def _usage(self) -> tuple[float, int]:
        return process_tree_usage(self._process)

    def sweep(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.send_pending(set(self.agents))

    def follow_switches(self) -> None:
        """Consume exactly the enabled agents among ours (the agents table is the truth)."""
        with self.runtime.session() as session:
            enabled = set(session.scalars(select(Agent.name).where(Agent.enabled.is_(True))))
        control, me = self.app.control, [self.worker_name]
        with self._switch_lock:
            for agent in self.agents:
                if agent in self.consuming and agent not in enabled:
                    control.cancel_consumer(agent, destination=me)
                    self.consuming.discard(agent)
                elif agent not in self.consuming and agent in enabled:
                    control.add_consumer(agent, routing_key=agent, destination=me)
                    self.consuming.add(agent)

    def listen(self) -> None:
        """Apply agent switches and runtime configuration as their changes are announced."""
        follow_changes(
            self.runtime,
            lambda change: self._guard(lambda: self.on_change(change)),
            self._stop_event,
            on_subscribed=lambda: config_live.load(self.runtime),
        )

    def on_change(self, change: dict[str, Any]) -> None:
        config_live.handle_change(self.runtime, change)
        kind = change.get("kind")
        named = {change.get("agent"), *(change.get("agents") or [])}
        if kind not in ("agent.state", "agent.restart") or not named & set(self.agents):
            return
        self.follow_switches()
        concurrency = change.get("concurrency")
        if isinstance(concurrency, int) and self.agents == [change.get("agent")]:
            self.resize_pool(concurrency)
        self.sweep()

    def resize_pool(self, size: int) -> None:
        """A worker serving only one agent runs as many of its stages as it allows."""
        current = int(getattr(self.pool, "num_processes", 0) or getattr(self.pool, "limit", 0))
        control, me = self.app.control, [self.worker_name]
        if current and size > current:
            control.pool_grow(size - current, destination=me)
        elif current and size < current:
            control.pool_shrink(current - size, destination=me)

    def _offline(self) -> None:
        with self.runtime.session() as session:
            workers.worker_offline(session, name=self.worker_name)
