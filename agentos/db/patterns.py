"""LIKE patterns built from what a person typed: their wildcards match themselves."""

from __future__ import annotations

ESCAPE = "\\"


def contains(text: str) -> str:
    """A pattern (with `escape=ESCAPE`) matching `text` anywhere in a value."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
