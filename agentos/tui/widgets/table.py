"""A DataTable updated in place by row key, so live refreshes keep the cursor.

Columns may be dropped when the terminal is narrow (`Col.min_width`), a column may carry
a sort indicator (`set_sort`), and j/k/g/G move the cursor where the view does not use
those keys itself. Cells that change in place widen their column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

if TYPE_CHECKING:
    from textual.widgets.data_table import ColumnKey

Row = tuple[str, Sequence[Any]]
# j/k/g/G as in less and k9s: (action, the DataTable action it runs).
VIM_KEYS = {
    "j": ("vim_down", "cursor_down"),
    "k": ("vim_up", "cursor_up"),
    "g": ("vim_top", "scroll_top"),
    "G": ("vim_bottom", "scroll_bottom"),
}


@dataclass(frozen=True)
class Col:
    name: str
    min_width: int = 0  # shown only when the terminal is at least this wide
    sort: str | None = None  # the server field its header (or `s`) orders the list by


def as_col(column: str | Col) -> Col:
    return column if isinstance(column, Col) else Col(column)


class KeyedTable(DataTable[Any]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding(key, action, target.replace("_", " "), show=False)
        for key, (action, target) in VIM_KEYS.items()
    ]

    def __init__(self, columns: Sequence[str | Col], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self._columns = [as_col(column) for column in columns]
        self._shown: list[Col] = []
        self._rows: list[tuple[str, tuple[Any, ...]]] = []
        self._keys: list[str] = []
        self._sort: tuple[str, bool] | None = None  # (column name, descending)

    # -- columns ---------------------------------------------------------------------------

    @property
    def column_names(self) -> list[str]:
        """The names of the columns shown now (narrow terminals drop some)."""
        return [column.name for column in self._shown]

    def _wanted(self) -> list[Col]:
        width = self.app.size.width
        return [column for column in self._columns if width >= column.min_width]

    def _label(self, column: Col) -> Text:
        if self._sort is None or self._sort[0] != column.name:
            return Text(column.name)
        return Text.assemble(column.name, (" ▼" if self._sort[1] else " ▲", "bold"))

    def _layout(self) -> None:
        """(Re)build the columns shown and their rows; the cursor stays on its key."""
        current, index = self.current_key, self.cursor_row
        self.clear(columns=True)
        self._shown = self._wanted()
        for column in self._shown:
            self.add_column(self._label(column), key=column.name)
        self._keys = []
        self._fill(self._rows, current, index)

    def set_sort(self, name: str | None, *, descending: bool = True) -> None:
        """Mark column `name` as the one the rows are ordered by (▼ descending, ▲ up)."""
        wanted = None if name is None else (name, descending)
        if wanted != self._sort:
            self._sort = wanted
            if self._shown:
                self._layout()

    def sort_field(self, column_key: ColumnKey | str) -> str | None:
        name = column_key if isinstance(column_key, str) else str(column_key.value)
        return next((column.sort for column in self._columns if column.name == name), None)

    def on_mount(self) -> None:
        if not self._shown:
            self._layout()

    def on_resize(self, event: events.Resize) -> None:
        if self._shown and self._wanted() != self._shown:
            self._layout()

    # -- rows ------------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    @property
    def current_key(self) -> str | None:
        if not self._keys or self.cursor_row < 0 or self.cursor_row >= len(self._keys):
            return None
        return self._keys[self.cursor_row]

    def _project(self, cells: Sequence[Any]) -> list[Any]:
        positions = {column.name: index for index, column in enumerate(self._columns)}
        return [cells[positions[column.name]] for column in self._shown]

    def sync(self, rows: Sequence[Row], *, to_top: bool = False) -> None:
        """Show `rows` (one cell per column, shown or not): changed cells are updated where
        they are (their column widens when needed); the cursor stays on its key, or goes
        to the first row with `to_top` (a new filter or order)."""
        self._rows = [(key, tuple(cells)) for key, cells in rows]
        if not self._shown:  # before on_mount: the columns first, whoever comes first
            self._layout()
            return
        keys = [key for key, _ in self._rows]
        if keys == self._keys and not to_top:
            for index, (_, cells) in enumerate(self._rows):
                for column, value in enumerate(self._project(cells)):
                    coordinate = Coordinate(index, column)
                    if self.get_cell_at(coordinate) != value:
                        self.update_cell_at(coordinate, value, update_width=True)
            return
        current, index = (None, 0) if to_top else (self.current_key, self.cursor_row)
        self.clear()
        for shown in self.columns.values():  # widths follow the new rows (also down)
            shown.content_width = shown.label.cell_len
        self._fill(self._rows, current, index)

    def _fill(
        self, rows: list[tuple[str, tuple[Any, ...]]], current: str | None, index: int
    ) -> None:
        for key, cells in rows:
            self.add_row(*self._project(cells), key=key)
        self._keys = [key for key, _ in rows]
        if current in self._keys:
            self.move_cursor(row=self._keys.index(current), animate=False)
        elif self._keys:
            self.move_cursor(row=min(max(index, 0), len(self._keys) - 1), animate=False)

    # -- keys ------------------------------------------------------------------------------

    def action_vim_down(self) -> None:
        self.action_cursor_down()

    def action_vim_up(self) -> None:
        self.action_cursor_up()

    def action_vim_top(self) -> None:
        self.action_scroll_top()

    def action_vim_bottom(self) -> None:
        self.action_scroll_bottom()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """j/k/g/G give way to a key of the same letter the view binds (Managers' k)."""
        key = next((key for key, (name, _) in VIM_KEYS.items() if name == action), None)
        if key is not None and key in _screen_keys(self):
            return False
        return super().check_action(action, parameters)


def _screen_keys(table: KeyedTable) -> set[str]:
    bindings = getattr(table.screen, "BINDINGS", [])
    return {binding.key for binding in bindings if isinstance(binding, Binding)}
