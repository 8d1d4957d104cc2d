"""Agents & Workers (3): agent state, concurrency, queue depth; workers' CPU and memory."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.modals import ask_whole_number
from agentos.tui.widgets import health
from agentos.tui.widgets.table import KeyedTable

STATE_STYLES = {"busy": "bold yellow", "idle": "green", "disabled": "dim red"}


class AgentsScreen(ViewScreen):
    VIEW = "agents"
    TITLE = "Agents & Workers"

    def body(self) -> ComposeResult:
        yield Label("Agents", classes="section")
        yield KeyedTable(
            ["agent", "state", "enabled", "concurrency", "queue depth", "running", "oldest wait"],
            id="agents",
        )
        yield Label("Workers", classes="section")
        yield KeyedTable(
            [
                "name",
                "kind",
                "host",
                "pid",
                "status",
                "cpu",
                "memory",
                "done",
                "failed",
                "heartbeat",
            ],
            id="workers",
        )
        yield Static("", id="process")

    def refresh_data(self) -> None:
        if self.snap is None:
            return
        section = self.snap.document.agents_workers
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
        self.query_one("#workers", KeyedTable).sync(
            [
                (
                    str(worker.id),
                    (
                        worker.name,
                        worker.kind,
                        worker.hostname,
                        str(worker.pid),
                        Text(worker.status, style="green" if worker.online else "red"),
                        f"{worker.cpu_percent:.0f}%" if worker.cpu_percent is not None else "-",
                        health.size(worker.memory_bytes),
                        str(worker.tasks_done),
                        str(worker.tasks_failed),
                        health.duration(worker.heartbeat_age_s),
                    ),
                )
                for worker in section.workers
                if self.matches(self.filter_text, worker.name, worker.hostname, worker.status)
            ]
        )
        process = section.process
        text = (
            f"this process: pid {process.pid}  cpu {process.cpu_percent:.0f}%  "
            f"memory {health.size(process.memory_bytes)}  threads {process.threads}"
            if process
            else f"workers online {section.workers_online}, offline {section.workers_offline}"
        )
        if not section.workers:
            text += "  ·  no workers have reported yet (start `agentos serve` or `agentos worker`)"
        self.query_one("#process", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Agent actions are offered only when this server's catalog has them.
        wanted = {
            "agent": str(parameters[0]) if parameters else "",
            "concurrency": "agent.set_concurrency",
        }
        if action in wanted and not self.tui.has_action(wanted[action]):
            return False
        return super().check_action(action, parameters)

    def selection_context(self) -> dict[str, str]:
        key = self.query_one("#agents", KeyedTable).current_key
        return {"agent_id": key} if key else {}

    def _agent(self, action: str) -> str | None:
        if not self.tui.has_action(action):
            self.notify(f"{action} is not in this server's action catalog", severity="warning")
            return None
        key = self.query_one("#agents", KeyedTable).current_key
        if key is None:
            self.notify("no agent selected")
        return key

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
