"""What the Failures view shows (plain; no Textual): failed jobs grouped by error code,
and the jobs waiting for another attempt with the time it starts.

A retry's next attempt is its queued step for the job's current attempt: the step joins
the queue with its backoff as `created_at` (claims skip it until then), so that time is
when the attempt may start (once a worker is free)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from agentos.schemas.jobs import JobDetail, JobRead, StepRead
from agentos.tui.source import Source
from agentos.tui.widgets import health
from agentos.tui.widgets.table import Col

NO_CODE = "(no code)"
MAX_FAILED = 1000  # failed jobs read for the groups (newest first; no GROUP BY in the API)
FAILED_PAGE = 500
MAX_RETRIES = 20  # jobs on a retry whose detail is read for the next attempt's time
GROUP_COLUMNS = (
    Col("error code"),
    Col("jobs"),
    Col("last failed"),
    Col("stages", min_width=100),
    Col("latest error"),
)
JOB_COLUMNS = (
    Col("id"),
    Col("title"),
    Col("stage"),
    Col("tries", min_width=100),
    Col("failed at", min_width=100),
    Col("error"),
)
RETRY_COLUMNS = (
    Col("id"),
    Col("title"),
    Col("stage"),
    Col("attempt"),
    Col("next attempt"),
    Col("status", min_width=100),
)


@dataclass
class Group:
    code: str
    jobs: list[JobRead] = field(default_factory=list)  # newest failure first

    @property
    def last_failed(self) -> datetime | None:
        times = [job.finished_at or job.updated_at for job in self.jobs]
        return max(times, default=None)

    @property
    def stages(self) -> list[str]:
        return sorted({job.current_stage for job in self.jobs if job.current_stage})


@dataclass
class Failures:
    total: int  # failed jobs in all
    groups: list[Group]  # most jobs first
    read: int  # failed jobs grouped (at most MAX_FAILED)


@dataclass(frozen=True)
class Retry:
    job: JobRead
    next_at: datetime | None  # its queued step's start time (None: running or unknown)


def read_failures(source: Source, *, limit: int = MAX_FAILED) -> Failures:
    jobs: list[JobRead] = []
    total, page = 0, 1
    while len(jobs) < limit:
        found = source.jobs(
            status=["failed"],
            search=None,
            page=page,
            per_page=min(FAILED_PAGE, limit),
            sort="updated_at",
            order="desc",
        )
        jobs += found.data
        total = found.pagination.total
        if not found.pagination.has_next:
            break
        page += 1
    return Failures(total=total, groups=group(jobs[:limit]), read=min(len(jobs), limit))


def group(jobs: list[JobRead]) -> list[Group]:
    groups: dict[str, Group] = {}
    for job in jobs:
        code = job.error_code or NO_CODE
        groups.setdefault(code, Group(code)).jobs.append(job)
    return sorted(groups.values(), key=lambda item: (-len(item.jobs), item.code))


def read_retries(
    source: Source, *, detail: Callable[[JobRead], JobDetail] | None = None
) -> list[Retry]:
    """Unfinished jobs past their first attempt, most attempts first, with when the next
    attempt starts."""
    found = source.jobs(
        status=["queued", "processing"],
        search=None,
        page=1,
        per_page=100,
        sort="attempts",
        order="desc",
    )
    waiting = [job for job in found.data if job.attempts > 1][:MAX_RETRIES]
    read = detail or (lambda job: source.job(job.id))
    return [Retry(job, next_start(read(job))) for job in waiting]


def next_start(job: JobDetail) -> datetime | None:
    queued: list[StepRead] = [
        step for step in job.steps if step.status == "queued" and step.attempt == job.attempts
    ]
    return min((step.created_at for step in queued), default=None)


def group_row(item: Group) -> tuple[object, ...]:
    latest = item.jobs[0].error if item.jobs else None
    return (
        item.code,
        str(len(item.jobs)),
        health.when(item.last_failed),
        ", ".join(item.stages) or "-",
        (latest or "-").replace("\n", " ")[:80],
    )


def job_row(job: JobRead, short: str) -> tuple[object, ...]:
    return (
        short,
        job.title[:32],
        job.current_stage or "-",
        f"{job.attempts}/{job.max_attempts}",
        health.when(job.finished_at or job.updated_at),
        (job.error or "-").replace("\n", " ")[:80],
    )


def next_text(retry: Retry, now: float) -> str:
    if retry.job.status.value == "processing":
        return "running now"
    if retry.next_at is None:
        return "-"
    wait = retry.next_at.timestamp() - now
    when = retry.next_at.strftime("%H:%M:%S")
    if wait > 0:
        return f"{when} (in {health.duration(wait)})"
    return f"{when} (due: waits for a worker)"


def retry_row(retry: Retry, short: str, now: float) -> tuple[object, ...]:
    job = retry.job
    return (
        short,
        job.title[:32],
        job.current_stage or "-",
        f"{job.attempts}/{job.max_attempts}",
        next_text(retry, now),
        health.status_text(job.status.value),
    )
