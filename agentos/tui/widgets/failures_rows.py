"""What the Failures view shows (plain; no Textual): failed jobs grouped by error code and
the stage attempts waiting for a retry, as the core counts them over every row
(`Source.figures`: `GET /api/admin/ssot/figures` remotely, the same service locally).

Groups and retries are exact counts; what is listed (a code's jobs, the retries) is the
newest or soonest of them, and the view says how many of how many."""

from __future__ import annotations

from datetime import datetime

from agentos.schemas.figures import FailureGroup, FiguresPart, LiveFigures, RetryWaiting
from agentos.schemas.jobs import JobRead
from agentos.tui.source import Source
from agentos.tui.widgets import health
from agentos.tui.widgets.table import Col

NO_CODE = "(no code)"
PARTS = (FiguresPart.failures, FiguresPart.retries)
GROUP_COLUMNS = (
    Col("error code"),
    Col("jobs"),
    Col("last hour"),
    Col("24 h"),
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
    Col("last error", min_width=100),
)


def key_of(code: str | None) -> str:
    """A group's table key and label: its code, or NO_CODE."""
    return code or NO_CODE


def code_of(key: str) -> str:
    """The `error_code` to ask for a group's jobs ('' is the group without a code)."""
    return "" if key == NO_CODE else key


def read(source: Source, key: str | None) -> LiveFigures:
    """Groups and retries; with `key`, that group's newest failed jobs too."""
    return source.figures(PARTS, error_code=None if key is None else code_of(key))


def summary(figures: LiveFigures) -> str:
    failures, retries = figures.failures, figures.retries
    attempts = "attempt" if retries is not None and retries.waiting == 1 else "attempts"
    waiting = (
        f"{retries.waiting} {attempts} waiting for a retry ({retries.due} due)"
        if retries is not None
        else ""
    )
    if failures is None or not failures.failed_jobs:
        return f"no failed jobs  ·  {waiting}  ·  exact counts"
    listed = len(failures.groups)
    largest = f" (the {listed} largest listed)" if listed < failures.codes else ""
    return (
        f"{failures.failed_jobs} failed jobs in {failures.codes} error codes{largest}  ·  "
        f"{waiting}  ·  exact counts"
    )


def group_row(item: FailureGroup) -> tuple[object, ...]:
    stages = sorted(item.stages, key=lambda stage: -item.stages[stage])
    return (
        key_of(item.error_code),
        str(item.jobs),
        str(item.last_hour),
        str(item.last_24h),
        health.when(item.last_failed_at),
        ", ".join(stages) or "-",
        (item.latest_error or "-").replace("\n", " ")[:80],
    )


def jobs_title(item: FailureGroup | None, listed: int) -> str:
    if item is None:
        return "Jobs of the group"
    code = key_of(item.error_code)
    if listed < item.jobs:
        return f"Jobs of {code} (the newest {listed} of {item.jobs})"
    return f"Jobs of {code} ({item.jobs})"


def job_row(job: JobRead, short: str) -> tuple[object, ...]:
    return (
        short,
        job.title[:32],
        job.current_stage or "-",
        f"{job.attempts}/{job.max_attempts}",
        health.when(job.finished_at or job.updated_at),
        (job.error or "-").replace("\n", " ")[:80],
    )


def retries_title(figures: LiveFigures | None) -> str:
    retries = figures.retries if figures else None
    if retries is None:
        return "Retries waiting (next attempt)"
    listed = len(retries.retries)
    shown = f"the soonest {listed} of {retries.waiting}" if listed < retries.waiting else "all"
    return f"Retries waiting (next attempt): {retries.waiting} in all, {shown} listed"


def next_text(next_at: datetime, now: float) -> str:
    wait = next_at.timestamp() - now
    when = next_at.strftime("%H:%M:%S")
    if wait > 0:
        return f"{when} (in {health.duration(wait)})"
    return f"{when} (due: waits for a worker)"


def retry_row(retry: RetryWaiting, short: str, now: float) -> tuple[object, ...]:
    why = retry.last_error_code or retry.last_status or "-"
    if retry.last_error:
        why = f"{why}: {retry.last_error}"
    return (
        short,
        retry.title[:32],
        retry.agent,
        f"{retry.attempt}/{retry.max_attempts}",
        next_text(retry.next_attempt_at, now),
        why.replace("\n", " ")[:80],
    )
