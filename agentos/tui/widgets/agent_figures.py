"""Per-agent stage figures for the Analytics view (plain; no Textual).

The server has no per-agent series: the admin document says how each agent stands now
(state, queue depth, running) and the step rollup counts steps per agent and status, but
nothing gives stage times, throughput or failures per agent over time. So these figures
are computed here from what the API does give: the processing steps of the newest
`SAMPLE_JOBS` finished jobs (their job details). They describe that sample, not every
step, and the view says so.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from agentos.schemas.jobs import StepRead
from agentos.tui.source import Source
from agentos.tui.widgets.table import Col

SAMPLE_JOBS = 40
HOURS = 12
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
    "A sample (the steps of the newest finished jobs): the server has no per-agent time "
    "series or stage-time percentiles. One character per hour, oldest left; ^r reads again."
)


@dataclass
class Sample:
    jobs: int
    hours: list[datetime]  # the chart buckets, oldest first
    steps: dict[str, list[StepRead]] = field(default_factory=dict)  # by agent, finished


def collect(source: Source, *, now: float, jobs: int = SAMPLE_JOBS) -> Sample:
    """Read the newest finished jobs' steps (one job detail each)."""
    page = source.jobs(
        status=["completed", "failed"],
        search=None,
        page=1,
        per_page=jobs,
        sort="updated_at",
        order="desc",
    )
    latest = datetime.fromtimestamp(now, UTC).replace(minute=0, second=0, microsecond=0)
    sample = Sample(
        jobs=len(page.data), hours=[latest - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    )
    by_agent: dict[str, list[StepRead]] = defaultdict(list)
    for job in page.data:
        for step in _steps(source, job.id):
            if step.finished_at is not None and step.status in ("completed", "failed"):
                by_agent[step.agent].append(step)
    sample.steps = dict(by_agent)
    return sample


def _steps(source: Source, job_id: uuid.UUID) -> list[StepRead]:
    return source.job(job_id).steps


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


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


def _hourly(sample: Sample, steps: list[StepRead]) -> list[list[StepRead]]:
    buckets: list[list[StepRead]] = [[] for _ in sample.hours]
    first = sample.hours[0]
    for step in steps:
        assert step.finished_at is not None
        index = int((step.finished_at - first).total_seconds() // 3600)
        if 0 <= index < len(buckets):
            buckets[index].append(step)
    return buckets


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _durations(steps: list[StepRead]) -> list[float]:
    return [s.duration_ms for s in steps if s.status == "completed" and s.duration_ms is not None]


def _fail_rate(steps: list[StepRead]) -> float | None:
    return sum(s.status == "failed" for s in steps) / len(steps) if steps else None


def rows(sample: Sample) -> list[tuple[str, tuple[object, ...]]]:
    result: list[tuple[str, tuple[object, ...]]] = []
    for agent, steps in sorted(sample.steps.items()):
        durations = _durations(steps)
        failed = sum(step.status == "failed" for step in steps)
        hourly = _hourly(sample, steps)
        rate = _fail_rate(steps)
        result.append(
            (
                agent,
                (
                    agent,
                    str(len(steps)),
                    str(failed),
                    "-" if rate is None else f"{rate:.0%}",
                    _ms(percentile(durations, 0.5)),
                    _ms(percentile(durations, 0.95)),
                    chart([float(sum(s.status == "completed" for s in hour)) for hour in hourly]),
                    chart([percentile(_durations(hour), 0.95) for hour in hourly]),
                    chart([_fail_rate(hour) for hour in hourly]),
                ),
            )
        )
    return result


def title(sample: Sample) -> str:
    first, last = sample.hours[0], sample.hours[-1]
    return (
        f"Per agent — steps of the newest {sample.jobs} finished jobs; charts per hour "
        f"{first:%H:%M} → {last:%H:%M} UTC"
    )
