"""Thresholds that colour queue health and stalled work, and small formatting helpers."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

WAIT_WARN_S = 60.0
WAIT_ALERT_S = 300.0
ERROR_RATE_WARN = 0.05
ERROR_RATE_ALERT = 0.20
STATUS_STYLES = {
    "pending": "dim",
    "queued": "cyan",
    "processing": "bold yellow",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "magenta",
}
SEVERITY_STYLES = {
    "debug": "dim",
    "info": "",
    "warning": "yellow",
    "error": "bold red",
    "critical": "bold white on red",
}


def level(value: float | None, warn: float, alert: float) -> str:
    if value is None or value < warn:
        return "ok"
    return "alert" if value >= alert else "warn"


def styled(text: str, health: str) -> Text:
    style = {"ok": "green", "warn": "bold yellow", "alert": "bold red"}[health]
    return Text(text, style=style)


def wait_text(seconds: float | None) -> Text:
    if seconds is None:
        return Text("-", style="dim")
    return styled(duration(seconds), level(seconds, WAIT_WARN_S, WAIT_ALERT_S))


def rate_text(rate: float) -> Text:
    return styled(f"{rate:.1%}", level(rate, ERROR_RATE_WARN, ERROR_RATE_ALERT))


def status_text(status: str, *, stalled: bool = False) -> Text:
    if stalled:
        return Text(f"{status} (stalled)", style="bold white on red")
    return Text(status, style=STATUS_STYLES.get(status, ""))


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def size(value: int | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"
