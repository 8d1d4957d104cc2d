"""Agents & Workers (3): agent state, concurrency, queue depth; one row per worker with
what the admin document lists and what the worker says about itself.

`worker.stats` asks every worker over the control channel (a broadcast waiting for
replies) and is an audited action, so it is read when the view opens, after a worker
action, on s or ^r, and otherwise at most every `WORKER_STATS_S`. Worker keys act on the
workers table's row, agent keys on the agents table's.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.notifications import SeverityLevel
from textual.widgets import DataTable, Label, Static

from agentos.errors import AgentOSError, RateLimitedError
from agentos.schemas.actions_workers import ActiveTask, WorkerReplies, WorkerReply
from agentos.schemas.actions_workers import WorkerStatsResult as Stats
from agentos.tui import commands
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.dashboard import warnings_text
from agentos.tui.screens.forms import FormField, FormScreen
from agentos.tui.screens.modals import ChoiceScreen, ask_whole_number
from agentos.tui.widgets import health
from agentos.tui.widgets import workers_rows as rows
from agentos.tui.widgets.form import field_error
from agentos.tui.widgets.table import Col, KeyedTable

# stalled: the agent has work but no online worker serves it (nothing will run it).
STATE_STYLES = {
    "busy": "bold yellow",
    "idle": "green",
    "disabled": "dim red",
    "stalled": "bold white on red",
}
AGENT_COLUMNS = (
    Col("agent"),
    Col("state"),
    Col("enabled", min_width=100),
    Col("concurrency"),
    Col("queue depth"),
    Col("running"),
    Col("oldest wait"),
)
WORKER_STATS_S = 15.0
# Worker actions that change what worker.stats says: read it again once one is done.
WORKER_CHANGES = frozenset(
    {
        "worker.pool_grow",
        "worker.pool_shrink",
        "worker.autoscale",
        "worker.shutdown",
        "worker.revoke_task",
    }
)
TERMINATE = ("no: revoke only (a running stage finishes)", "yes: stop it if it is running")


def _whole(raw: dict[str, str], name: str) -> int:
    text = raw.get(name, "").strip()
    try:
        return int(text)
    except ValueError:
        raise field_error(name, f"a whole number, not {text!r}") from None


class AgentsScreen(ViewScreen):
    VIEW = "agents"
    TITLE = "Agents & Workers"
    KEY_ACTIONS = {
        "concurrency": "agent.set_concurrency",
        "ping": "worker.ping",
        "stats": "worker.stats",
        "autoscale": "worker.autoscale",
        "shutdown": "worker.shutdown",
        "revoke": "worker.revoke_task",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stats: Stats | None = None
        self.pings: dict[str, WorkerReply] = {}
        self.stats_error: str | None = None
        self._asked = 0

    def body(self) -> ComposeResult:
        yield Static("", id="warnings")
        yield Label("Agents", classes="section")
        yield KeyedTable(AGENT_COLUMNS, id="agents")
        yield Label("Workers", classes="section", id="workers-title")
        yield KeyedTable(rows.WORKER_COLUMNS, id="workers")
        yield Static("", id="worker-detail")
        yield Static("", id="process")

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        if self.due("stats", WORKER_STATS_S):
            self.fetch_stats()
        if self.snap is None:
            return
        section = self.snap.document.agents_workers
        warnings = self.snap.document.dashboard.warnings
        banner = self.query_one("#warnings", Static)
        banner.update(warnings_text(warnings))
        banner.display = bool(warnings)
        waits = {item.agent: item.oldest_waiting_s for item in self.snap.document.queue.agents}
        self.query_one("#agents", KeyedTable).sync(
            [
                (
                    agent.name,
                    (
                        agent.name,
                        Text(agent.state, style=STATE_STYLES.get(agent.state, "")),
                        "yes" if agent.enabled else Text("no", style="red"),
                        str(agent.concurrency),
                        str(agent.queue_depth),
                        str(agent.running),
                        health.wait_text(waits.get(agent.name)),
                    ),
                )
                for agent in section.agents
                if self.matches(self.filter_text, agent.name, agent.state)
            ]
        )
        self._show_workers()
        process = section.process
        # The document's process is the one that built it: the server's, when remote.
        whose = "this process" if self.tui.source.mode == "local" else "server process"
        text = (
            f"{whose}: pid {process.pid}  cpu {process.cpu_percent:.0f}%  "
            f"memory {health.size(process.memory_bytes)}  threads {process.threads}"
            if process
            else f"workers online {section.workers_online}, offline {section.workers_offline}"
        )
        if not section.workers and not (self.stats and self.stats.workers):
            text += "  ·  no workers have reported yet (start `agentos serve` or `agentos worker`)"
        self.query_one("#process", Static).update(text)

    def on_change(self, payload: dict[str, Any]) -> None:
        if payload.get("kind") == "action" and payload.get("action") in WORKER_CHANGES:
            self.reload_stats()

    def apply_filter(self) -> None:
        self.refresh_data()

    def reload_stats(self) -> None:
        self.due("stats", 0, force=True)
        self.fetch_stats()

    def fetch_stats(self) -> None:
        self._asked += 1
        self.run_worker(
            partial(self._read_stats, self._asked),
            thread=True,
            group="worker-stats",
            exit_on_error=False,
        )

    def _read_stats(self, token: int) -> None:
        try:
            stats = self.tui.source.worker_stats()
        except AgentOSError as exc:
            self.app.call_from_thread(self._stats_failed, token, exc)
            return
        self.app.call_from_thread(self._stats_loaded, token, stats)

    def _stats_loaded(self, token: int, stats: Stats) -> None:
        if self.live and token == self._asked:
            self.stats, self.stats_error = stats, None
            self._show_workers()

    def _stats_failed(self, token: int, exc: AgentOSError) -> None:
        if not self.live or token != self._asked:
            return
        self.stats_error = commands.describe_error(exc)
        if isinstance(exc, RateLimitedError):
            self.due_again_in("stats", max(1.0, exc.retry_after_s), WORKER_STATS_S)
        self._show_workers()

    # -- rendering -------------------------------------------------------------------------

    def views(self) -> list[rows.WorkerView]:
        section = self.snap.document.agents_workers if self.snap else None
        return rows.merge(section, self.stats, self.pings)

    def _show_workers(self) -> None:
        shown = [
            view
            for view in self.views()
            if self.matches(self.filter_text, view.name, view.kind, view.status)
        ]
        self.query_one("#workers", KeyedTable).sync(
            [(view.name, rows.worker_row(view)) for view in shown]
        )
        said = "" if self.stats is None else f", {len(self.stats.workers)} answered worker.stats"
        error = f" — worker.stats: {self.stats_error}" if self.stats_error else ""
        self.query_one("#workers-title", Label).update(f"Workers ({len(shown)}{said}){error}")
        self._show_detail()

    def _show_detail(self) -> None:
        key = self.query_one("#workers", KeyedTable).current_key
        current = next((view for view in self.views() if view.name == key), None)
        self.query_one("#worker-detail", Static).update(
            rows.detail(current) if current else "no workers"
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "workers":
            self._show_detail()

    # -- selection -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Agent and pool keys are offered only when this server's catalog has their action.
        wanted = {"agent": str(parameters[0]) if parameters else ""}
        if parameters and action == "pool":
            wanted["pool"] = "worker.pool_grow" if parameters[0] == 1 else "worker.pool_shrink"
        if action in wanted and not self.tui.has_action(wanted[action]):
            return False
        return super().check_action(action, parameters)

    def selection_context(self) -> dict[str, str]:
        context = {}
        agent = self.query_one("#agents", KeyedTable).current_key
        if agent:
            context["agent_id"] = agent
        worker = self.query_one("#workers", KeyedTable).current_key
        if worker:
            context["worker"] = worker
        return context

    def _agent(self, action: str) -> str | None:
        if not self.tui.has_action(action):
            self.notify(f"{action} is not in this server's action catalog", severity="warning")
            return None
        key = self.query_one("#agents", KeyedTable).current_key
        if key is None:
            self.notify("no agent selected")
        return key

    def _worker(self) -> rows.WorkerView | None:
        key = self.query_one("#workers", KeyedTable).current_key
        found = next((view for view in self.views() if view.name == key), None)
        if found is None:
            self.notify("no worker selected")
        return found

    # -- agent keys ------------------------------------------------------------------------

    def action_agent(self, action: str) -> None:
        key = self._agent(action)
        if key is not None:
            self.tui.run_admin_action(action, {"agent_id": key})

    def action_concurrency(self) -> None:
        key = self._agent("agent.set_concurrency")
        if key is None:
            return
        ask_whole_number(
            self.app,
            f"Concurrency of {key}",
            lambda concurrency: self.tui.run_admin_action(
                "agent.set_concurrency", {"agent_id": key, "concurrency": concurrency}
            ),
            placeholder="2",
        )

    # -- worker keys -----------------------------------------------------------------------

    def action_reload(self) -> None:
        self.tui.request_refresh(force=True)
        self.reload_stats()

    def action_stats(self) -> None:
        self.reload_stats()

    def action_ping(self) -> None:
        """A read (workers:read): runs in read-only mode too, outside `run_admin_action`."""
        self.run_worker(self._ping, thread=True, group="worker-ping", exit_on_error=False)

    def _ping(self) -> None:
        try:
            response = self.tui.source.run("worker.ping", {})
            replies = WorkerReplies.model_validate(response.result)
        except AgentOSError as exc:
            message = commands.describe_error(exc)
            self.app.call_from_thread(self.notify, message, title="ping", severity="error")
            return
        self.app.call_from_thread(self._pinged, replies)

    def _pinged(self, replies: WorkerReplies) -> None:
        if not self.live:
            return
        self.pings = {reply.worker: reply for reply in replies.replies}
        severity: SeverityLevel = "warning" if replies.missing else "information"
        self.notify(rows.ping_summary(replies), title="worker.ping", severity=severity)
        self._show_workers()

    def action_pool(self, step: int) -> None:
        worker = self._worker()
        if worker is None or not self.require_write():
            return
        name = "worker.pool_grow" if step > 0 else "worker.pool_shrink"
        verb = "Grow" if step > 0 else "Shrink"
        ask_whole_number(
            self.app,
            f"{verb} the pool of {worker.name} (now {worker.pool or '?'}) by",
            lambda n: self.tui.run_admin_action(name, {"worker": worker.name, "n": n}),
            value="1",
        )

    def action_autoscale(self) -> None:
        worker = self._worker()
        if worker is None or not self.require_write():
            return
        bounds = worker.stats.autoscale if worker.stats else None
        low, high = bounds if bounds and len(bounds) == 2 else (1, worker.pool or 1)
        self.app.push_screen(
            FormScreen(
                f"Autoscale {worker.name} (worker.autoscale)",
                [
                    FormField("min", "min (never fewer)", value=str(low)),
                    FormField("max", "max (never more)", value=str(high)),
                ],
                action="worker.autoscale",
                build=lambda raw: {
                    "worker": worker.name,
                    "min": _whole(raw, "min"),
                    "max": _whole(raw, "max"),
                },
                note=f"The pool follows the backlog between min and max (now {worker.pool}).",
            )
        )

    def action_shutdown(self) -> None:
        worker = self._worker()
        if worker is not None:
            self.tui.run_admin_action(
                "worker.shutdown",
                {"worker": worker.name, "confirm": True},
                confirm=rows.shutdown_question(worker),
            )

    def action_revoke(self) -> None:
        worker = self._worker()
        if worker is None or not self.require_write():
            return
        tasks = worker.active
        if not tasks:
            self.notify(f"{worker.name} has no active task")
        elif len(tasks) == 1:
            self._ask_terminate(worker.name, tasks[0])
        else:
            labels = [rows.task_label(task) for task in tasks]
            self.app.push_screen(
                ChoiceScreen(f"Revoke which task of {worker.name}?", labels),
                lambda label: (
                    None
                    if label is None
                    else self._ask_terminate(worker.name, tasks[labels.index(label)])
                ),
            )

    def _ask_terminate(self, worker: str, task: ActiveTask) -> None:
        self.app.push_screen(
            ChoiceScreen(
                f"Terminate {task.task_id} if it is running?", TERMINATE, screen_id="terminate"
            ),
            partial(self._terminate_chosen, worker, task),
        )

    def _terminate_chosen(self, worker: str, task: ActiveTask, choice: str | None) -> None:
        if choice is None:
            return
        terminate = choice == TERMINATE[1]
        self.tui.run_admin_action(
            "worker.revoke_task",
            {"task_id": task.task_id, "terminate": terminate},
            confirm=rows.revoke_question(task, worker, terminate=terminate),
        )
