"""How an embedded runner answers the worker actions, and its autoscaler.

`ControlResponder` listens on the bus for `worker_control` requests addressed to this
runner (or to every worker) and replies with the same shapes Celery workers give: ping,
stats (psutil figures of this process plus the runner's own counts), resize, autoscale,
warm shutdown (stop claiming, let running stages finish, then go offline).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from agentos.db.models import ProcessingStep
from agentos.schemas.actions_workers import POOL_SIZE_MAX, ActiveTask, WorkerStats
from agentos.services.pipeline import claims, worker_control

if TYPE_CHECKING:
    from agentos.services.pipeline.embedded_runner import EmbeddedRunner

logger = logging.getLogger(__name__)
AUTOSCALE_INTERVAL_S = 1.0


class ControlError(Exception):
    """A request this runner refuses; its message is the reply's error."""


class ControlResponder:
    def __init__(self, runner: EmbeddedRunner) -> None:
        self.runner = runner
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        subscription = self.runner.runtime.backends.bus.subscribe(worker_control.REQUEST_CHANNEL)
        self._thread = threading.Thread(
            target=self._serve, args=(subscription,), name="runner-control", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)

    def _serve(self, subscription: Any) -> None:
        try:
            while not self._stopping.is_set():
                event = subscription.get(timeout_s=0.2)
                if event is not None:
                    self._answer(event.payload)
        finally:
            subscription.close()

    def _answer(self, request: dict[str, Any]) -> None:
        workers = request.get("workers")
        if workers is not None and self.runner.name not in workers:
            return
        reply: dict[str, Any] = {
            "request_id": request.get("request_id"),
            "worker": self.runner.name,
        }
        try:
            result = self.handle(str(request.get("command")), request.get("args") or {})
            reply.update(ok=True, result=result)
        except ControlError as exc:
            reply.update(ok=False, error=str(exc))
        except Exception as exc:
            logger.exception("worker control request %s failed", request.get("command"))
            reply.update(ok=False, error=f"internal error: {type(exc).__name__}")
        try:
            self.runner.runtime.backends.bus.publish(worker_control.REPLY_CHANNEL, reply)
        except Exception:
            logger.warning("could not send a worker control reply")

    def handle(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        if command == "ping":
            return {"pong": True}
        if command == "stats":
            return stats(self.runner).model_dump(mode="json")
        if command == "resize":
            return resize(self.runner, int(args["delta"]))
        if command == "autoscale":
            return set_autoscale(self.runner, int(args["min"]), int(args["max"]))
        if command == "shutdown":
            return drain(self.runner)
        raise ControlError(f"unknown command {command!r}")


def stats(runner: EmbeddedRunner) -> WorkerStats:
    figures = runner.stats()
    with runner.lock:
        pool = runner.effective_pool_size()
        active = [
            ActiveTask(
                task_id=str(claimed.step_id),
                step_id=claimed.step_id,
                job_id=claimed.job_id,
                agent=claimed.agent,
                started_at=claimed.started_at,
            )
            for claimed in runner.running.values()
        ]
    return WorkerStats(
        worker=runner.name,
        kind=runner.kind,
        pid=os.getpid(),
        hostname=socket.gethostname(),
        uptime_s=round(time.time() - runner.started, 1),
        cpu_percent=figures["cpu_percent"],
        memory_bytes=figures["memory_bytes"],
        load_avg=[round(value, 2) for value in os.getloadavg()],
        tasks_done=figures["tasks_done"],
        tasks_failed=figures["tasks_failed"],
        pool_size=pool,
        autoscale=list(runner.autoscale_bounds) if runner.autoscale_bounds else None,
        active=active,
    )


def _pool_figures(runner: EmbeddedRunner, before: int) -> dict[str, Any]:
    bounds = runner.autoscale_bounds
    return {
        "before": before,
        "after": runner.effective_pool_size(),
        "autoscale": list(bounds) if bounds else None,
    }


def resize(runner: EmbeddedRunner, delta: int) -> dict[str, Any]:
    """Grow or shrink the pool (not while autoscaling, which owns its size)."""
    with runner.lock:
        if runner.autoscale_bounds is not None:
            # As Celery answers: under autoscaling only the bounds move the pool.
            raise ControlError(
                "pool_grow/pool_shrink are not supported with autoscale; "
                "adjust the autoscale range instead"
            )
        before = runner.effective_pool_size()
        after = before + delta
        if after < 1:
            raise ControlError(f"the pool has {before}; it cannot shrink by {-delta}")
        if after > POOL_SIZE_MAX:
            raise ControlError(f"the pool has {before}; it cannot grow above {POOL_SIZE_MAX}")
        runner.pool_size = after
        figures = _pool_figures(runner, before)
    runner.wake_all()
    return figures


def set_autoscale(runner: EmbeddedRunner, low: int, high: int) -> dict[str, Any]:
    with runner.lock:
        before = runner.effective_pool_size()
        runner.autoscale_bounds = (low, high)
        runner.pool_size = max(low, min(high, before)) or 1
        figures = _pool_figures(runner, before)
    runner.wake_all()
    return figures


def drain(runner: EmbeddedRunner) -> dict[str, Any]:
    """Warm shutdown: claim nothing more; once the running stages finish, stop."""
    with runner.lock:
        running = len(runner.running)
    if not runner.draining.is_set():
        runner.draining.set()
        threading.Thread(target=_stop_when_idle, args=(runner,), name="runner-drain").start()
    return {"running": running}


def _stop_when_idle(runner: EmbeddedRunner) -> None:
    while True:
        with runner.lock:
            if not runner.running and not any(runner.active_by_agent.values()):
                break
        time.sleep(0.1)
    logger.warning("embedded runner %s stopped by a warm shutdown", runner.name)
    runner.stop()


def autoscale(runner: EmbeddedRunner) -> None:
    """Follow the backlog within the bounds: grow at once, shrink one at a time."""
    bounds = runner.autoscale_bounds
    if bounds is None or runner.draining.is_set():
        return
    with runner.runtime.read_session() as session:
        backlog = session.scalar(
            select(func.count())
            .select_from(ProcessingStep)
            .where(
                ProcessingStep.status == "queued",
                ProcessingStep.agent.in_(sorted(runner.agents)),
                claims.due(),
            ),
            {"p_now": claims.now()},
        )
    low, high = bounds
    with runner.lock:
        busy = sum(runner.active_by_agent.values())
        target = max(low, min(high, busy + int(backlog or 0))) or 1
        current = runner.effective_pool_size()
        if target > current:
            runner.pool_size = target
        elif target < current:
            runner.pool_size = current - 1
    if target > current:
        runner.wake_all()
