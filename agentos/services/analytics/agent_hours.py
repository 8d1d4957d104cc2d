"""Per agent and per hour: steps completed and failed, and how long the completed ones took
(mean, p50, p95), over every step finished in the window (no sample).

The window is `hours` whole UTC hours ending with the current one. Each agent is read on
its own, `agent = ? AND finished_at >= ?`, off the covering index (agent, finished_at,
status, duration_ms): one GROUP BY hour and status for the counts and duration sums, and
the exact percentiles (`sqlstats.percentiles`: percentile_cont on PostgreSQL, the same
interpolation over ranked rows on SQLite) per hour and over the window. Asked across
agents at once, a planner without statistics (SQLite before ANALYZE) would rather walk the
whole agent index in order than range-scan the window; per agent, the index is the plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from agentos.db.models import Agent, ProcessingStep
from agentos.schemas.figures import AgentFigures, AgentHour, AgentSeries
from agentos.services.jobs.sqlstats import as_utc_hour, hour_bucket, percentiles

AGENT_HOURS = 24
FRACTIONS = (0.5, 0.95)


class _Hour:
    """Counts and duration sums of one agent's hour, added up from rows per status."""

    def __init__(self) -> None:
        self.completed = self.failed = 0
        self.took_ms, self.timed = 0.0, 0

    @property
    def mean_ms(self) -> float | None:
        return self.took_ms / self.timed if self.timed else None


def agent_figures(session: Session, *, now: datetime, hours: int = AGENT_HOURS) -> AgentFigures:
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    window = [since + timedelta(hours=n) for n in range(hours)]
    # Steps reference their agent (deleted with it), so the agents table names them all.
    agents = session.scalars(select(Agent.name).order_by(Agent.stage_order, Agent.name))
    return AgentFigures(
        hours=hours,
        since=since,
        agents=[_series(session, agent, since, window) for agent in agents],
    )


def _series(session: Session, agent: str, since: datetime, window: list[datetime]) -> AgentSeries:
    step = ProcessingStep
    where = [step.agent == agent, step.finished_at >= since]
    bucket = hour_bucket(session, step.finished_at)
    # The duration of a completed step; NULL for any other (percentiles skip NULLs).
    took = case((step.status == "completed", step.duration_ms))
    found = _hours(session, where, bucket)
    hourly = {
        as_utc_hour(key[0]): values
        for key, values in percentiles(
            session, value=took, where=where, fractions=FRACTIONS, groups=(bucket,)
        ).items()
    }
    p50, p95 = percentiles(session, value=took, where=where, fractions=FRACTIONS).get(
        (), (None, None)
    )
    points = []
    for hour in window:
        counted = found.get(hour, _Hour())
        h50, h95 = hourly.get(hour, (None, None))
        points.append(
            AgentHour(
                hour=hour,
                completed=counted.completed,
                failed=counted.failed,
                mean_ms=counted.mean_ms,
                p50_ms=h50,
                p95_ms=h95,
            )
        )
    took_ms = sum(item.took_ms for item in found.values())
    timed = sum(item.timed for item in found.values())
    return AgentSeries(
        agent=agent,
        completed=sum(point.completed for point in points),
        failed=sum(point.failed for point in points),
        mean_ms=took_ms / timed if timed else None,
        p50_ms=p50,
        p95_ms=p95,
        hours=points,
    )


def _hours(session: Session, where: list[Any], bucket: Any) -> dict[datetime, _Hour]:
    """{hour: counts}; other statuses that finished in the window (cancelled) are left out."""
    step = ProcessingStep
    rows = session.execute(
        select(
            bucket,
            step.status,
            func.count(),
            func.sum(step.duration_ms),
            func.count(step.duration_ms),
        )
        .where(*where)
        .group_by(bucket, step.status)
    )
    found: dict[datetime, _Hour] = {}
    for hour, status, count, took_ms, timed in rows:
        item = found.setdefault(as_utc_hour(hour), _Hour())
        if status == "completed":
            item.completed, item.took_ms, item.timed = int(count), float(took_ms or 0), int(timed)
        elif status == "failed":
            item.failed = int(count)
    return found
