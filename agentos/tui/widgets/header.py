"""The status line: mode flags and problems first, then connection state, data age,
refresh interval and the backend in use."""

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
WIDE = 120  # columns from which the header says everything


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


def render_header(state: HeaderState, *, width: int = 200) -> Text:
    """State first (what is wrong, paused, read-only, live or not, how old the data is),
    then where it comes from: an 80-column terminal cuts only the tail."""
    wide = width >= WIDE
    text = Text.assemble(("AgentOS ", "bold"), (f"{state.view}", "bold cyan"))

    def part(value: str, style: str = "") -> None:
        text.append(" │ ")
        text.append(value, style=style)

    if state.session is not None:
        part(f" {state.session} ", "bold white on red")
    if state.maintenance is not None:
        part(f"MAINTENANCE: {state.maintenance[:MAINTENANCE_SHOWN]}", "bold white on red")
    if state.paused:
        part(" ⏸ PAUSED (p resumes) ", "bold black on yellow")
    if state.read_only:
        part(" READ-ONLY ", "bold black on cyan")
    _connection(text, state, wide=wide)
    _age(text, state, wide=wide)
    if state.error and state.session is None:  # the session segment says it louder
        part(state.error, "bold red")
    if not state.paused:
        part(f"every {state.interval_s:g} s", "dim")
    part(state.backend)
    if state.deployment:
        text.append(f" [{state.deployment}]", style="dim")
    return text


def _connection(text: Text, state: HeaderState, *, wide: bool) -> None:
    if state.paused and state.connection == "live":
        return  # live updates are not applied while paused: no green dot saying otherwise
    mark, style = STATE_STYLES.get(state.connection, ("?", "yellow"))
    text.append(" │ ")
    text.append(f"{mark} {state.connection}", style=style)
    if state.detail and (wide or state.connection != "live"):
        text.append(f" ({state.detail})", style=style if state.connection != "live" else "dim")


def _age(text: Text, state: HeaderState, *, wide: bool) -> None:
    text.append(" │ ")
    if state.age_s is None:
        text.append("no data yet", style="yellow")
        return
    age_style = "green" if state.age_s < 5 else ("yellow" if state.age_s < 30 else "bold red")
    if state.paused:
        age_style = "yellow"
    text.append("data ")
    text.append(f"{state.age_s:.0f} s old" if not wide else f"{state.age_s:.1f} s old", age_style)
    if state.session is not None:
        text.append(", the last received", style="bold red")
    elif wide and state.checked_s is not None:
        text.append(f", checked {state.checked_s:.0f} s ago", style="dim")


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $panel; padding: 0 1; }
    """

    def show(self, state: HeaderState) -> None:
        self.update(render_header(state, width=self.app.size.width))
