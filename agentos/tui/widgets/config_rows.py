"""What the Configuration view shows and how an edited value is read back (plain text; no
Textual, no fetching). The setting's own validation happens in `config.set`."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from agentos.schemas.actions_config import ConfigHistoryEntry
from agentos.schemas.actions_reads import EffectiveSetting
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.tui.widgets import health
from agentos.tui.widgets.form import field_error
from agentos.tui.widgets.table import Row

SETTING_COLUMNS = ("setting", "value", "source", "live")
HISTORY_COLUMNS = ("when", "old", "new", "by", "reason")
RUNTIME_COLUMNS = ("key", "value", "updated by", "updated at")
SOURCE_STYLES = {"default": "dim", "environment": "cyan", "runtime": "bold yellow"}
SETTABLE = "✎"
SHOWN = 80


def shown(value: Any, width: int = SHOWN) -> str:
    """A value on one line: text as it is, anything else as JSON."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def edit_text(value: Any) -> str:
    """What the edit form starts with: text as it is, anything else as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def typed_value(text: str, current: Any) -> Any:
    """What was typed, as the value `config.set` gets: text for a text setting; JSON for the
    others (a number, true/false, a list or an object). A word that is not JSON goes as
    text, and `config.set` says what it should have been."""
    text = text.strip()
    if isinstance(current, str):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        if isinstance(current, dict | list):
            kind = "an object" if isinstance(current, dict) else "a list"
            raise field_error("value", f"{kind} in JSON is expected ({exc})") from None
        return text


def setting_rows(summary: list[tuple[str, str]], settings: list[EffectiveSetting]) -> list[Row]:
    named = {item.name for item in settings}
    rows: list[Row] = [
        (name, (name, shown(value), "", "")) for name, value in summary if name not in named
    ]
    for item in settings:
        source = Text(item.source, style=SOURCE_STYLES.get(item.source, ""))
        mark = Text(SETTABLE, style="bold green") if item.settable else ""
        rows.append((item.name, (item.name, shown(item.value), source, mark)))
    return rows


def history_row(entry: ConfigHistoryEntry) -> tuple[object, ...]:
    return (
        health.when(entry.changed_at),
        shown(entry.old_value, 30),
        shown(entry.new_value, 30) if entry.new_value is not None else Text("reset", style="dim"),
        entry.changed_by or "-",
        entry.reason or "-",
    )


def runtime_row(row: RuntimeSettingRead) -> tuple[object, ...]:
    return (row.key, shown(row.value), row.updated_by or "-", health.when(row.updated_at))


def reset_question(item: EffectiveSetting) -> str:
    return (
        f"Reset {item.name}? Its runtime value {shown(item.value, 40)} is removed and the "
        "environment's value (else the default) applies again, live, in every process."
    )
