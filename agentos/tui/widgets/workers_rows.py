"""What the Agents & Workers view shows about workers (plain; no Textual, no fetching).

A worker's row joins what the admin document lists (its heartbeat row: status, pool
size, the stages it runs, the stages that failed on it) with what it last said about
itself (`worker.stats`: pool, autoscale bounds, active tasks, CPU, memory, tasks done and
failed) and its last `worker.ping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from agentos.schemas.actions_workers import (
    ActiveTask,
    WorkerReplies,
    WorkerReply,
    WorkerStats,
    WorkerStatsResult,
)
from agentos.schemas.admin import AgentsWorkersSection, WorkerStatus
from agentos.tui.widgets import health
from agentos.tui.widgets.table import Col

# Narrow terminals drop the columns with a min_width above their width.
WORKER_COLUMNS = (
    Col("worker"),
    Col("kind", min_width=100),
    Col("status"),
    Col("pool"),
    Col("active"),
    Col("cpu"),
    Col("memory", min_width=100),
    Col("done", min_width=120),
    Col("failed", min_width=120),
    Col("ping", min_width=100),
    Col("heartbeat"),
)
STATUS_STYLES = {"online": "green", "offline": "red", "missing": "bold yellow"}


@dataclass(frozen=True)
class WorkerView:
    name: str
    listed: WorkerStatus | None = None  # its row in the admin document
    stats: WorkerStats | None = None  # its last answer to worker.stats
    ping: WorkerReply | None = None
    missing: bool = False  # listed online, but did not answer the last worker.stats
    running: list[ActiveTask] = field(default_factory=list)  # the document's current work

    @property
    def active(self) -> list[ActiveTask]:
        """Its active tasks: as it said itself, else the stages the document has on it."""
        return self.stats.active if self.stats is not None else self.running

    @property
    def kind(self) -> str:
        return self.stats.kind if self.stats else self.listed.kind if self.listed else "-"

    @property
    def pool(self) -> int | None:
        if self.stats is not None and self.stats.pool_size is not None:
            return self.stats.pool_size
        return self.listed.concurrency if self.listed else None

    @property
    def status(self) -> str:
        if self.missing:
            return "missing"
        if self.listed is not None:
            return self.listed.status
        return "online" if self.stats is not None else "-"


def _running(section: AgentsWorkersSection, name: str) -> list[ActiveTask]:
    return [
        ActiveTask(
            task_id=str(work.step_id),  # worker.revoke_task also takes a stage's id
            step_id=work.step_id,
            job_id=work.job_id,
            agent=agent.name,
            started_at=work.started_at,
        )
        for agent in section.agents
        for work in agent.current_work
        if work.worker_id == name
    ]


def merge(
    section: AgentsWorkersSection | None,
    stats: WorkerStatsResult | None,
    pings: dict[str, WorkerReply],
) -> list[WorkerView]:
    """One view per worker: the document's order, then any only `worker.stats` knows."""
    said = {item.worker: item for item in stats.workers} if stats else {}
    missing = set(stats.missing) if stats else set()
    listed = section.workers if section else []
    names = [worker.name for worker in listed]
    names += [name for name in said if name not in names]
    by_name = {worker.name: worker for worker in listed}
    return [
        WorkerView(
            name=name,
            listed=by_name.get(name),
            stats=said.get(name),
            ping=pings.get(name),
            missing=name in missing,
            running=_running(section, name) if section else [],
        )
        for name in names
    ]


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _pool(view: WorkerView) -> str:
    scale = view.stats.autoscale if view.stats else None
    text = _count(view.pool)
    return f"{text} ({scale[0]}-{scale[1]})" if scale and len(scale) == 2 else text


def _ping(reply: WorkerReply | None) -> Text | str:
    if reply is None:
        return "-"
    if not reply.ok:
        return Text("refused", style="bold red")
    return f"{reply.latency_ms:.1f} ms" if reply.latency_ms is not None else "ok"


def worker_row(view: WorkerView) -> tuple[object, ...]:
    stats, listed = view.stats, view.listed
    cpu = stats.cpu_percent if stats and stats.cpu_percent is not None else None
    if cpu is None and listed is not None:
        cpu = listed.cpu_percent
    memory = stats.memory_bytes if stats and stats.memory_bytes is not None else None
    if memory is None and listed is not None:
        memory = listed.memory_bytes
    done = stats.tasks_done if stats and stats.tasks_done is not None else None
    failed = stats.tasks_failed if stats and stats.tasks_failed is not None else None
    return (
        view.name,
        view.kind,
        Text(view.status, style=STATUS_STYLES.get(view.status, "")),
        _pool(view),
        str(len(view.active)),
        f"{cpu:.0f}%" if cpu is not None else "-",
        health.size(memory),
        _count(done if done is not None else listed.tasks_done if listed else None),
        _count(failed if failed is not None else listed.tasks_failed if listed else None),
        _ping(view.ping),
        health.duration(listed.heartbeat_age_s) if listed else "-",
    )


def task_label(task: ActiveTask) -> str:
    job = f" of job {str(task.job_id)[:8]}" if task.job_id else ""
    return f"{task.task_id} ({task.agent or 'stage'}{job})"


def detail(view: WorkerView) -> Text:
    """The selected worker's line under the table."""
    text = Text.assemble((view.name, "bold"), f"  {view.kind}")
    if view.listed is not None:
        listed = view.listed
        text.append(f"  {listed.hostname} pid {listed.pid}  agents {', '.join(listed.agents)}")
        text.append(f"  recent failures (stages failed on it) {listed.tasks_failed}")
    stats = view.stats
    if stats is not None:
        if stats.load_avg:
            text.append("  load " + " ".join(f"{value:.2f}" for value in stats.load_avg))
        if stats.uptime_s is not None:
            text.append(f"  up {health.duration(stats.uptime_s)}")
    if view.missing:
        text.append("  did not answer worker.stats", style="bold yellow")
    tasks = "; ".join(task_label(task) for task in view.active) or "none"
    text.append(f"\nactive tasks: {tasks}")
    return text


def ping_summary(replies: WorkerReplies) -> str:
    answered = [
        f"{reply.worker} {reply.latency_ms:.1f} ms"
        if reply.ok and reply.latency_ms is not None
        else f"{reply.worker} {'ok' if reply.ok else 'refused: ' + (reply.error or '?')}"
        for reply in replies.replies
    ]
    missing = f"; no reply within {replies.timeout_s:g} s: {', '.join(replies.missing)}"
    return ("; ".join(answered) or "no worker answered") + (missing if replies.missing else "")


def shutdown_question(view: WorkerView) -> str:
    active = len(view.active)
    return (
        f"Shut down worker {view.name}? It takes no new work; its {active} active task(s) "
        "finish first, then it exits. Nothing starts it again from here."
    )


def revoke_question(task: ActiveTask, worker: str, *, terminate: bool) -> str:
    how = (
        "stopped now if it is running"
        if terminate
        else "not started if it is waiting; a running stage finishes"
    )
    return (
        f"Revoke task {task_label(task)} on {worker}? It is {how}, and its job is "
        "cancelled (retry the job to run it again)."
    )
