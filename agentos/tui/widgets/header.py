"""The status line: connection state, backend in use, data age, refresh and mode flags."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

STATE_STYLES = {
    "live": ("●", "bold green"),
    "connecting": ("◌", "yellow"),
    "disconnected": ("✖", "bold red"),
    "refused": ("✖", "bold red"),
}
MAINTENANCE_SHOWN = 60


@dataclass
class HeaderState:
    view: str = ""
    connection: str = "connecting"
    detail: str = ""
    backend: str = ""
    deployment: str = ""
    age_s: float | None = None
    checked_s: float | None = None
    interval_s: float = 2.0
    paused: bool = False
    read_only: bool = False
    error: str | None = None
    maintenance: str | None = None  # the message while maintenance mode is on
    session: str | None = None  # the backend refuses this login: what to do about it


def render_header(state: HeaderState) -> Text:
    mark, style = STATE_STYLES.get(state.connection, ("?", "yellow"))
    text = Text.assemble(("AgentOS ", "bold"), (f"{state.view} ", "bold cyan"), "│ ")
    if state.session is not None:
        text.append(f" {state.session} ", style="bold white on red")
        text.append(" │ ")
    if state.maintenance is not None:
        message = state.maintenance[:MAINTENANCE_SHOWN]
        text.append(f"MAINTENANCE: {message}", style="bold white on red")
        text.append(" │ ")
    text.append(f"{mark} {state.connection}", style=style)
    if state.detail:
        text.append(f" ({state.detail})", style=style if state.connection != "live" else "dim")
    text.append(f" │ {state.backend}")
    if state.deployment:
        text.append(f" [{state.deployment}]", style="dim")
    if state.age_s is None:
        text.append(" │ no data yet", style="yellow")
    else:
        age_style = "green" if state.age_s < 5 else ("yellow" if state.age_s < 30 else "bold red")
        text.append(" │ data ")
        text.append(f"{state.age_s:.1f} s old", style=age_style)
        if state.session is not None:
            text.append(", the last received", style="bold red")
        elif state.checked_s is not None:
            text.append(f", checked {state.checked_s:.0f} s ago", style="dim")
    text.append(f" │ refresh {state.interval_s:g} s")
    if state.paused:
        text.append(" │ PAUSED", style="bold black on yellow")
    if state.read_only:
        text.append(" │ READ-ONLY", style="bold black on cyan")
    if state.error and state.session is None:  # the session segment says it louder
        text.append(f" │ {state.error}", style="bold red")
    return text


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $panel; padding: 0 1; }
    """

    def show(self, state: HeaderState) -> None:
        self.update(render_header(state))
