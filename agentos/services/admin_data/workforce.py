"""The workforce part of the admin document: worker rows, who is stalled for want of a
worker, and this process's own figures."""

from __future__ import annotations

import os
import threading
from datetime import datetime

import psutil
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import Worker
from agentos.schemas.admin import AgentStatus, DashboardWarning, ProcessStats, WorkerStatus


def worker_statuses(
    session: Session, *, now: datetime, offline_after_s: float
) -> list[WorkerStatus]:
    workers = session.scalars(select(Worker).order_by(Worker.name)).all()
    result = []
    for worker in workers:
        age = max(0.0, (now - worker.heartbeat_at).total_seconds())
        result.append(
            WorkerStatus(
                id=worker.id,
                name=worker.name,
                kind=worker.kind,
                hostname=worker.hostname,
                pid=worker.pid,
                agents=list(worker.agents or []),
                concurrency=worker.concurrency,
                online=age <= offline_after_s and worker.status == "online",
                status=worker.status,
                tasks_done=worker.tasks_done,
                tasks_failed=worker.tasks_failed,
                cpu_percent=worker.cpu_percent,
                memory_bytes=worker.memory_bytes,
                started_at=worker.started_at,
                heartbeat_at=worker.heartbeat_at,
                heartbeat_age_s=round(age, 3),
            )
        )
    return result


def without_workers(
    agents: list[AgentStatus], workers: list[WorkerStatus]
) -> tuple[list[AgentStatus], list[DashboardWarning]]:
    """Agents that have work but no online worker to do it are `stalled`, not busy; the
    dashboard says so first."""
    served = {agent for worker in workers if worker.online for agent in worker.agents}
    marked = [
        agent.model_copy(update={"state": "stalled"})
        if agent.enabled and (agent.queue_depth or agent.running) and agent.name not in served
        else agent
        for agent in agents
    ]
    stalled = [agent for agent in marked if agent.state == "stalled"]
    if not stalled:
        return marked, []
    waiting = sum(agent.queue_depth + agent.running for agent in stalled)
    start = "start `agentos serve` (embedded) or `agentos worker`"
    if not any(worker.online for worker in workers):
        message = f"no workers online: {waiting} stage(s) of work stalled; {start}"
        return marked, [DashboardWarning(code="NO_WORKERS", message=message)]
    names = ", ".join(agent.name for agent in stalled)
    message = f"no online worker serves {names}: {waiting} stage(s) of work stalled; {start}"
    return marked, [DashboardWarning(code="AGENTS_UNSERVED", message=message)]


_process_lock = threading.Lock()
_process: psutil.Process | None = None


def process_stats() -> ProcessStats:
    """This process's CPU (since the previous build) and resident memory."""
    global _process
    with _process_lock:
        if _process is None or _process.pid != os.getpid():
            _process = psutil.Process()
            _process.cpu_percent(interval=None)  # primes the counter; the first reading is 0
        with _process.oneshot():
            return ProcessStats(
                pid=_process.pid,
                cpu_percent=_process.cpu_percent(interval=None),
                memory_bytes=_process.memory_info().rss,
                threads=_process.num_threads(),
            )


# --- analytics -----------------------------------------------------------------------------
