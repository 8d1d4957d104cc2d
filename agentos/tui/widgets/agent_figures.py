"""Per-agent stage figures for the Analytics view (plain; no Textual).

The core counts them over every step finished in the window (`Source.figures`, part
`agents`: one GROUP BY agent and UTC hour, exact percentiles), so the view shows exact
figures for the last `hours` hours, not a sample of jobs; this module only lays them out.
"""

from __future__ import annotations

from datetime import timedelta

from agentos.errors import AgentOSError
from agentos.schemas.figures import AgentFigures, AgentSeries, FiguresPart
from agentos.tui.source import Source
from agentos.tui.widgets.table import Col

PARTS = (FiguresPart.agents,)
BLOCKS = " ▁▂▃▄▅▆▇█"
COLUMNS = (
    Col("agent"),
    Col("steps"),
    Col("failed"),
    Col("fail %"),
    Col("p50 ms"),
    Col("p95 ms"),
    Col("done / h"),
    Col("p95 ms / h", min_width=100),
    Col("fail % / h", min_width=120),
)
NOTE = (
    "Exact: every step finished in the window, counted by the server (not a sample). "
    "One character per UTC hour, oldest left; · no step that hour; ^r reads again."
)


def collect(source: Source) -> AgentFigures:
    figures = source.figures(PARTS).agents
    if figures is None:  # a server that left the part out: say so, do not guess
        raise AgentOSError("the server sent no per-agent figures", code="UNEXPECTED_ANSWER")
    return figures


def chart(values: list[float | None]) -> str:
    """One block per value, scaled to the largest; '·' where there is no value."""
    peak = max((value for value in values if value is not None), default=0.0)
    cells = []
    for value in values:
        if value is None:
            cells.append("·")
        else:
            cells.append(BLOCKS[round(value / peak * (len(BLOCKS) - 1))] if peak else BLOCKS[0])
    return "".join(cells)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _rate(failed: int, completed: int) -> float | None:
    return failed / (failed + completed) if failed + completed else None


def row(series: AgentSeries) -> tuple[object, ...]:
    rate = _rate(series.failed, series.completed)
    return (
        series.agent,
        str(series.completed + series.failed),
        str(series.failed),
        "-" if rate is None else f"{rate:.0%}",
        _ms(series.p50_ms),
        _ms(series.p95_ms),
        chart([float(hour.completed) for hour in series.hours]),
        chart([hour.p95_ms for hour in series.hours]),
        chart([_rate(hour.failed, hour.completed) for hour in series.hours]),
    )


def rows(figures: AgentFigures) -> list[tuple[str, tuple[object, ...]]]:
    return [(series.agent, row(series)) for series in figures.agents]


def title(figures: AgentFigures) -> str:
    first = figures.since
    last = first + timedelta(hours=figures.hours - 1)
    return (
        f"Per agent — every step finished in the last {figures.hours} h (exact); charts per "
        f"hour {first:%H:%M} → {last:%H:%M} UTC"
    )
