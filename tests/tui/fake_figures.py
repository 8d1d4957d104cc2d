"""The fake source's exact figures: failure groups counted from its job list (as the core
counts failed jobs), retries and per-agent series as a test sets them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from agentos.schemas.figures import (
    AgentFigures,
    FailureFigures,
    FailureGroup,
    FiguresPart,
    LiveFigures,
    RetryFigures,
    RetryWaiting,
)
from agentos.schemas.jobs import JobRead

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GROUP_JOBS = 200


class FakeFigures:
    def __init__(self, jobs: list[JobRead]) -> None:
        self.jobs = jobs  # the source's list: retried jobs leave their group
        self.retries: list[RetryWaiting] = []
        self.retries_waiting: int | None = None  # more than listed, when set
        self.agents: AgentFigures | None = None
        self.asked: list[tuple[tuple[str, ...], str | None]] = []

    def answer(self, parts: Sequence[FiguresPart], error_code: str | None) -> LiveFigures:
        self.asked.append((tuple(str(part) for part in parts), error_code))
        figures = LiveFigures(generated_at=NOW)
        if FiguresPart.failures in parts:
            figures.failures = self._failures(error_code)
        if FiguresPart.retries in parts:
            waiting = self.retries_waiting or len(self.retries)
            due = sum(retry.next_attempt_at <= NOW for retry in self.retries)
            figures.retries = RetryFigures(
                waiting=waiting, due=due, retries=list(self.retries), limit=100
            )
        if FiguresPart.agents in parts:
            figures.agents = self.agents or AgentFigures(
                hours=24, since=NOW - timedelta(hours=23), agents=[]
            )
        return figures

    def _failures(self, error_code: str | None) -> FailureFigures:
        failed = [job for job in self.jobs if job.status.value == "failed"]
        failed.sort(key=lambda job: job.finished_at or job.updated_at, reverse=True)
        groups: dict[str | None, FailureGroup] = {}
        for job in failed:
            at = job.finished_at or job.updated_at
            group = groups.setdefault(
                job.error_code,
                FailureGroup(
                    error_code=job.error_code,
                    jobs=0,
                    last_hour=0,
                    last_24h=0,
                    last_failed_at=at,
                    latest_error=job.error,
                ),
            )
            group.jobs += 1
            group.last_hour += at >= NOW - timedelta(hours=1)
            group.last_24h += at >= NOW - timedelta(hours=24)
            if job.current_stage:
                group.stages[job.current_stage] = group.stages.get(job.current_stage, 0) + 1
        listed = [
            job for job in failed if error_code is not None and (job.error_code or "") == error_code
        ]
        return FailureFigures(
            failed_jobs=len(failed),
            codes=len(groups),
            groups=sorted(groups.values(), key=lambda item: (-item.jobs, item.error_code or "")),
            error_code=error_code,
            group_jobs=listed[:GROUP_JOBS],
            jobs_limit=GROUP_JOBS,
        )
