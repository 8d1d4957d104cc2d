"""The worker actions on Celery: its remote control, broadcast with a reply timeout.

The figures are Celery's own (`inspect stats`, `inspect active`, the same Flower shows)
plus `agentos_stats`, a remote-control command every `agentos worker` registers
(`agentos.tasks.worker`), which adds psutil figures of the worker's process tree and the
load average.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from celery import Celery

from agentos.schemas.actions_workers import WorkerReply
from agentos.services.runtime import Runtime
from agentos.tasks.app import app_for

STATS_COMMAND = "agentos_stats"


def _by_worker(replies: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Celery's `[{hostname: answer}, ...]` as one mapping."""
    merged: dict[str, Any] = {}
    for reply in replies or []:
        merged.update(reply)
    return merged


def _reply(worker: str, answer: Any, latency_ms: float | None) -> WorkerReply:
    if isinstance(answer, dict) and "error" in answer:
        return WorkerReply(
            worker=worker, ok=False, error=str(answer["error"]), latency_ms=latency_ms
        )
    result = answer if isinstance(answer, dict) else {"answer": answer}
    return WorkerReply(worker=worker, ok=True, result=result, latency_ms=latency_ms)


class CeleryWorkerControl:
    kind = "celery"

    def __init__(self, app: Celery) -> None:
        self.app = app

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> CeleryWorkerControl:
        return cls(app_for(runtime))

    def _broadcast(
        self,
        command: str,
        workers: list[str] | None,
        timeout_s: float,
        expect: int | None = None,
        **arguments: Any,
    ) -> list[WorkerReply]:
        """One request; each reply timed as it arrives (Celery calls `arrived` per reply)."""
        started = time.monotonic()
        latencies: dict[str, float] = {}

        def arrived(reply: dict[str, Any]) -> None:
            for name in reply:
                latencies[name] = round((time.monotonic() - started) * 1000, 2)

        raw = self.app.control.broadcast(
            command,
            arguments=arguments,
            destination=workers,
            reply=True,
            timeout=timeout_s,
            limit=len(workers) if workers else expect,
            callback=arrived,
        )
        answers = _by_worker(raw)
        return [_reply(name, answers[name], latencies.get(name)) for name in sorted(answers)]

    def ping(
        self, workers: list[str] | None, *, timeout_s: float, expect: int | None = None
    ) -> list[WorkerReply]:
        return self._broadcast("ping", workers, timeout_s, expect)

    def stats(
        self, workers: list[str] | None, *, timeout_s: float, expect: int | None = None
    ) -> list[WorkerReply]:
        limit = len(workers) if workers else expect
        inspector = self.app.control.inspect(destination=workers, timeout=timeout_s, limit=limit)
        started = time.monotonic()
        celery_stats = inspector.stats() or {}
        latency = round((time.monotonic() - started) * 1000, 2)
        active = inspector.active() or {}
        ours = {
            reply.worker: reply.result
            for reply in self._broadcast(STATS_COMMAND, workers, timeout_s, expect)
        }
        return [
            WorkerReply(
                worker=name,
                ok=True,
                latency_ms=latency,
                result=_stats_fields(name, info, active.get(name) or [], ours.get(name) or {}),
            )
            for name, info in sorted(celery_stats.items())
        ]

    def _pool_size(self, worker: str, timeout_s: float) -> int | None:
        info = (
            self.app.control.inspect(destination=[worker], timeout=timeout_s).stats() or {}
        ).get(worker)
        if not info:
            return None
        return len(info.get("pool", {}).get("processes", [])) or None

    def _autoscale_bounds(self, worker: str, timeout_s: float) -> list[int] | None:
        answer = self._broadcast(STATS_COMMAND, [worker], timeout_s)
        bounds = answer[0].result.get("autoscale") if answer and answer[0].ok else None
        return list(bounds) if bounds else None

    def resize(self, worker: str, delta: int, *, timeout_s: float) -> list[WorkerReply]:
        before = self._pool_size(worker, timeout_s)
        if before is None:
            return []
        if before + delta < 1:
            return [
                WorkerReply(
                    worker=worker,
                    ok=False,
                    error=f"the pool has {before}; it cannot shrink by {-delta}",
                )
            ]
        command = "pool_grow" if delta > 0 else "pool_shrink"
        replies = self._broadcast(command, [worker], timeout_s, n=abs(delta))
        if not replies or not replies[0].ok:
            return replies
        after = _wait_pool(lambda: self._pool_size(worker, timeout_s), before + delta)
        result = {
            "before": before,
            "after": after,
            "autoscale": self._autoscale_bounds(worker, timeout_s),
        }
        return [replies[0].model_copy(update={"result": result})]

    def autoscale(self, worker: str, low: int, high: int, *, timeout_s: float) -> list[WorkerReply]:
        before = self._pool_size(worker, timeout_s)
        replies = self._broadcast("autoscale", [worker], timeout_s, max=high, min=low)
        if replies and "Autoscale not enabled" in (replies[0].error or ""):
            hint = "autoscaling is off on this worker; start it with agentos worker --autoscale MAX,MIN"
            return [replies[0].model_copy(update={"error": hint})]
        if not replies or not replies[0].ok:
            return replies
        result = {
            "before": before,
            "after": self._pool_size(worker, timeout_s),
            "autoscale": [low, high],
        }
        return [replies[0].model_copy(update={"result": result})]

    def shutdown(self, worker: str, *, timeout_s: float) -> list[WorkerReply]:
        # Celery's shutdown is warm (running tasks finish) and sends no reply.
        self.app.control.shutdown(destination=[worker])
        return []

    def revoke(self, task_id: str, *, terminate: bool) -> None:
        self.app.control.revoke(task_id, terminate=terminate, signal="SIGTERM")


def _wait_pool(read: Callable[[], int | None], expected: int, wait_s: float = 5.0) -> int | None:
    """A pool resize applies asynchronously in the worker: read until it shows."""
    deadline = time.monotonic() + wait_s
    size = read()
    while size != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        size = read()
    return size


def _stats_fields(
    name: str, info: dict[str, Any], active: list[dict[str, Any]], ours: dict[str, Any]
) -> dict[str, Any]:
    pool = info.get("pool", {})
    return {
        "worker": name,
        "kind": "celery",
        "pid": info.get("pid"),
        "hostname": name.partition("@")[2] or None,
        "uptime_s": info.get("uptime"),
        "cpu_percent": ours.get("cpu_percent"),
        "memory_bytes": ours.get("memory_bytes"),
        "load_avg": ours.get("load_avg") or [],
        "tasks_done": sum((info.get("total") or {}).values()),
        "tasks_failed": ours.get("tasks_failed"),
        "pool_size": len(pool.get("processes", [])) or pool.get("max-concurrency"),
        "autoscale": ours.get("autoscale"),
        "active": [
            {
                "task_id": task.get("id"),
                "step_id": _step_id(task.get("args")),
                "agent": (task.get("delivery_info") or {}).get("routing_key"),
            }
            for task in active
        ],
    }


def _step_id(args: Any) -> str | None:
    """`run_step(step_id, agent)`'s first argument, when it is one."""
    if not isinstance(args, list | tuple) or not args:
        return None
    try:
        return str(uuid.UUID(str(args[0])))
    except ValueError:
        return None
