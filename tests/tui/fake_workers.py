"""The Agents & Workers view's side of the fake source: two workers listed in the admin
document and a small, stateful stand-in for the worker.* actions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from agentos.errors import AgentOSError, NotFoundError
from agentos.schemas.actions import ActionInfo
from agentos.schemas.actions_workers import (
    ActiveTask,
    WorkerAutoscalePayload,
    WorkerPoolPayload,
    WorkerRevokePayload,
    WorkerShutdownPayload,
    WorkerStats,
    WorkerTargetPayload,
)
from agentos.schemas.admin import AdminDocument, WorkerStatus

WORKER_ACTIONS: dict[str, tuple[type[BaseModel], bool]] = {
    "worker.ping": (WorkerTargetPayload, False),
    "worker.stats": (WorkerTargetPayload, False),
    "worker.pool_grow": (WorkerPoolPayload, False),
    "worker.pool_shrink": (WorkerPoolPayload, False),
    "worker.autoscale": (WorkerAutoscalePayload, False),
    "worker.shutdown": (WorkerShutdownPayload, True),
    "worker.revoke_task": (WorkerRevokePayload, False),
}
ALPHA, BETA = "celery@alpha", "embedded-7@beta"


def workers_catalog() -> list[ActionInfo]:
    return [
        ActionInfo(
            name=name,
            view="AgentsWorkers",
            summary=f"fake {name}",
            permission="workers:write",
            read_only=name in ("worker.ping", "worker.stats"),
            rate_class="high_risk" if dangerous else "standard",
            rate_limit=10 if dangerous else 50,
            rate_window_s=60,
            dangerous=dangerous,
            dependencies=[],
            payload_schema=model.model_json_schema(),
        )
        for name, (model, dangerous) in WORKER_ACTIONS.items()
    ]


def _job(number: int) -> uuid.UUID:
    return uuid.UUID(f"{number:08x}-0000-4000-8000-000000000000")


class FakeWorkers:
    """Lists two workers in `document` and answers the worker actions; `fail[name]` raises,
    `silent` holds workers that do not answer worker.stats or worker.ping."""

    def __init__(self, document: AdminDocument) -> None:
        now = document.built_at
        document.agents_workers.workers = [
            self._listed(ALPHA, "celery", 4, done=120, failed=3, now=now),
            self._listed(BETA, "embedded", 2, done=40, failed=0, now=now),
        ]
        self.stats = {
            ALPHA: WorkerStats(
                worker=ALPHA,
                kind="celery",
                pid=4242,
                hostname="alpha",
                uptime_s=7200,
                cpu_percent=12.5,
                memory_bytes=200 * 2**20,
                load_avg=[0.5, 0.4, 0.3],
                tasks_done=130,
                tasks_failed=4,
                pool_size=4,
                active=[
                    ActiveTask(task_id="task-a1", job_id=_job(3), agent="scenes", started_at=now)
                ],
            ),
            BETA: WorkerStats(
                worker=BETA,
                kind="embedded",
                tasks_done=41,
                tasks_failed=0,
                pool_size=2,
                autoscale=[1, 3],
                active=[
                    ActiveTask(task_id="task-b1", job_id=_job(5), agent="probe"),
                    ActiveTask(task_id="task-b2", job_id=_job(6), agent="thumbs"),
                ],
            ),
        }
        self.silent: set[str] = set()
        self.fail: dict[str, AgentOSError] = {}

    @staticmethod
    def _listed(
        name: str, kind: str, pool: int, *, done: int, failed: int, now: Any
    ) -> WorkerStatus:
        return WorkerStatus(
            id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
            name=name,
            kind=kind,
            hostname=name.split("@")[1],
            pid=1000 + pool,
            agents=["probe", "scenes"],
            concurrency=pool,
            online=True,
            status="online",
            tasks_done=done,
            tasks_failed=failed,
            cpu_percent=None,
            memory_bytes=None,
            started_at=now - timedelta(hours=2),
            heartbeat_at=now,
            heartbeat_age_s=4.0,
        )

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action in self.fail:
            raise self.fail[action]
        WORKER_ACTIONS[action][0].model_validate(payload)  # as the pipeline would
        handler = getattr(self, "_" + action.removeprefix("worker."))
        result: dict[str, Any] = handler(payload)
        return result

    def _answering(self, worker: str | None) -> list[str]:
        names = [worker] if worker else list(self.stats)
        return [name for name in names if name in self.stats and name not in self.silent]

    def _missing(self, worker: str | None) -> list[str]:
        names = [worker] if worker else list(self.stats)
        return [name for name in names if name in self.silent]

    def _ping(self, payload: dict[str, Any]) -> dict[str, Any]:
        worker = payload.get("worker")
        replies = [
            {"worker": name, "ok": True, "latency_ms": 2.5 + index}
            for index, name in enumerate(self._answering(worker))
        ]
        return {"replies": replies, "missing": self._missing(worker), "timeout_s": 1.0}

    def _stats(self, payload: dict[str, Any]) -> dict[str, Any]:
        worker = payload.get("worker")
        figures = [self.stats[name].model_dump(mode="json") for name in self._answering(worker)]
        return {"workers": figures, "missing": self._missing(worker), "timeout_s": 1.0}

    def _known(self, name: str) -> WorkerStats:
        if name not in self.stats:
            raise NotFoundError(f"no online worker named {name!r}", code="WORKER_NOT_FOUND")
        return self.stats[name]

    def _resize(self, payload: dict[str, Any], delta: int) -> dict[str, Any]:
        stats = self._known(payload["worker"])
        before = stats.pool_size or 0
        self.stats[stats.worker] = stats.model_copy(update={"pool_size": max(0, before + delta)})
        return {"worker": stats.worker, "before": before, "after": max(0, before + delta)}

    def _pool_grow(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._resize(payload, payload.get("n", 1))

    def _pool_shrink(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._resize(payload, -payload.get("n", 1))

    def _autoscale(self, payload: dict[str, Any]) -> dict[str, Any]:
        stats = self._known(payload["worker"])
        bounds = [payload["min"], payload["max"]]
        self.stats[stats.worker] = stats.model_copy(update={"autoscale": bounds})
        return {"worker": stats.worker, "before": stats.pool_size, "autoscale": bounds}

    def _shutdown(self, payload: dict[str, Any]) -> dict[str, Any]:
        stats = self._known(payload["worker"])
        del self.stats[stats.worker]
        return {"worker": stats.worker, "running": len(stats.active), "offline": True}

    def _revoke_task(self, payload: dict[str, Any]) -> dict[str, Any]:
        for name, stats in self.stats.items():
            task = next((t for t in stats.active if t.task_id == payload["task_id"]), None)
            if task is not None:
                left = [t for t in stats.active if t is not task]
                self.stats[name] = stats.model_copy(update={"active": left})
                return {
                    "task_id": task.task_id,
                    "step_id": str(uuid.uuid4()),
                    "job_id": str(task.job_id),
                    "agent": task.agent,
                    "step_status": "running",
                    "terminated": payload.get("terminate", False),
                    "job_status": "cancelled",
                }
        raise NotFoundError(f"no stage has task id {payload['task_id']}", code="TASK_NOT_FOUND")
