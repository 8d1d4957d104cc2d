"""A DataTable updated in place by row key, so live refreshes keep the cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable

Row = tuple[str, Sequence[Any]]


class KeyedTable(DataTable[Any]):
    def __init__(self, columns: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self._column_names = list(columns)
        self._keys: list[str] = []

    def on_mount(self) -> None:
        for name in self._column_names:
            self.add_column(name, key=name)

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    @property
    def current_key(self) -> str | None:
        if not self._keys or self.cursor_row < 0 or self.cursor_row >= len(self._keys):
            return None
        return self._keys[self.cursor_row]

    def sync(self, rows: Sequence[Row]) -> None:
        """Show `rows`: changed cells are updated where they are; the cursor stays on its key."""
        keys = [key for key, _ in rows]
        if keys == self._keys:
            for index, (_, cells) in enumerate(rows):
                for column, value in enumerate(cells):
                    coordinate = Coordinate(index, column)
                    if self.get_cell_at(coordinate) != value:
                        self.update_cell_at(coordinate, value)
            return
        current, index = self.current_key, self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        self._keys = keys
        if current in keys:
            self.move_cursor(row=keys.index(current), animate=False)
        elif keys:
            self.move_cursor(row=min(max(index, 0), len(keys) - 1), animate=False)
