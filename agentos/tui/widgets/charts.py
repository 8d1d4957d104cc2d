"""Charts' time axes and text bars (sparklines have no axis of their own).

`TimeAxis` sits under a sparkline of the same width and labels its first, middle and last
point (UTC), so a spike can be read as "around 14:00", not "somewhere".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual.widget import Widget

LABEL = "%H:%M"


def axis_text(points: Sequence[datetime], width: int) -> str:
    """`width` characters: the first point's time at the left, the last one's at the right
    and the middle one's centred (when there is room), in UTC."""
    if not points or width <= 0:
        return ""
    first = points[0].strftime(LABEL) + " UTC"
    last = points[-1].strftime(LABEL)
    if len(points) == 1 or width < len(first) + len(last) + 1:
        return first[:width]
    line = [" "] * width
    line[: len(first)] = first
    line[width - len(last) :] = last
    middle = points[len(points) // 2].strftime(LABEL)
    start = width // 2 - len(middle) // 2
    if start > len(first) + 1 and start + len(middle) < width - len(last) - 1:
        line[start : start + len(middle)] = middle
    return "".join(line)


def bar(value: float, peak: float, width: int = 24) -> str:
    return "█" * (round(width * value / peak) if peak else 0)


class TimeAxis(Widget):
    DEFAULT_CSS = "TimeAxis { height: 1; color: $text-muted; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.points: list[datetime] = []

    def show(self, points: Sequence[datetime]) -> None:
        self.points = list(points)
        self.refresh()

    @property
    def text(self) -> str:
        return axis_text(self.points, self.size.width)

    def render(self) -> Text:
        return Text(self.text, no_wrap=True)
