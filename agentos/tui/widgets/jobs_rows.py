"""What the Jobs & Queue view shows (plain; no Textual, no fetching): its columns and how
each orders the list on the server, the `/` filter, short ids and the rows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text

from agentos.schemas.admin import AdminDocument
from agentos.schemas.jobs import JOB_STATUSES, JobRead
from agentos.tui.widgets import health
from agentos.tui.widgets.table import Col

SHORT_ID = 8
WIDE = 120
TITLE_WIDE, TITLE_NARROW = 40, 24
COLUMNS = (
    Col("✓"),
    Col("id", sort="id"),
    Col("title", sort="title"),
    Col("status", sort="status"),
    Col("stage", sort="current_stage"),
    Col("progress", sort="progress"),
    Col("prio", min_width=100, sort="priority"),
    Col("tries", min_width=100, sort="attempts"),
    Col("created", min_width=WIDE, sort="created_at"),
    Col("age", sort="created_at"),  # since created (queued: waiting since queued)
    Col("updated", min_width=WIDE, sort="updated_at"),  # since the last change
)
# `s` steps through these; the first is the default (newest first).
SORTS: tuple[str, ...] = (
    "created_at", "updated_at", "priority", "status", "title", "progress", "attempts",
    "current_stage", "id",
)  # fmt: skip
SORT_NAMES = {
    "created_at": "created",
    "updated_at": "updated",
    "attempts": "tries",
    "current_stage": "stage",
}
# Fields whose first order is descending (the biggest, newest, most urgent first).
DESCENDING_FIRST = frozenset({"created_at", "updated_at", "priority", "progress", "attempts"})
HEX_ID = re.compile(r"^[0-9a-f]{8}[0-9a-f-]*$")
ID_WORD = re.compile(r"^id:([0-9a-fA-F-]{4,36})$")


@dataclass(frozen=True)
class JobQuery:
    statuses: tuple[str, ...] = ()
    search: str | None = None
    id_prefix: str | None = None


def parse_filter(text: str) -> JobQuery:
    """`failed queued keynote` -> statuses failed, queued and title search 'keynote';
    `id:be1c` or a pasted short id (8+ hex digits) -> the jobs whose id starts so."""
    statuses: list[str] = []
    words: list[str] = []
    prefix: str | None = None
    for word in text.split():
        value = word.removeprefix("status:")
        parts = value.split(",")
        matched = ID_WORD.match(word)
        if all(part in JOB_STATUSES for part in parts):
            statuses.extend(parts)
        elif matched is not None or HEX_ID.match(word.lower()):
            prefix = (matched.group(1) if matched else word).lower()
        else:
            words.append(word)
    return JobQuery(tuple(statuses), " ".join(words) or None, prefix)


def sort_name(field: str) -> str:
    return SORT_NAMES.get(field, field)


def order_words(field: str, descending: bool) -> str:
    if field in ("created_at", "updated_at"):
        return "newest first" if descending else "oldest first"
    return "descending" if descending else "ascending"


def indicator(field: str, descending: bool, shown: list[str]) -> tuple[str | None, bool]:
    """The column to mark and its arrow: the age column counts the other way round."""
    for column in COLUMNS:
        if column.sort == field and column.name in shown:
            return column.name, (not descending if column.name == "age" else descending)
    return None, descending


def unique_prefixes(ids: Iterable[str], minimum: int = SHORT_ID) -> dict[str, str]:
    """Each id's shortest prefix (at least `minimum` characters) no other id here shares;
    `agentos jobs show`, `:` and every action take them (the server resolves prefixes)."""
    values = sorted(set(ids))
    result = {}
    for index, value in enumerate(values):
        neighbours = values[max(0, index - 1) : index] + values[index + 1 : index + 2]
        length = minimum
        while any(other.startswith(value[:length]) for other in neighbours) and length < len(value):
            length += 1
        result[value] = value[:length]
    return result


def stage_text(job: JobRead) -> str:
    if job.current_stage:
        return job.current_stage
    return "done" if job.status.value == "completed" else "-"


def label(job: JobRead, short: str | None = None) -> str:
    """How a question or a report names a job: short id, title and status."""
    return f"{short or str(job.id)[:SHORT_ID]}  {job.title[:TITLE_WIDE]}  ({job.status.value})"


def job_row(
    job: JobRead,
    *,
    now: float,
    marked: bool,
    short: str,
    stall_after_s: float,
    wide: bool,
) -> tuple[object, ...]:
    idle = max(0.0, now - job.updated_at.timestamp())
    stalled = job.status.value == "processing" and idle > stall_after_s
    if job.status.value == "queued" and job.queued_at is not None:
        age: Text | str = health.wait_text(now - job.queued_at.timestamp())
    else:
        age = health.duration(max(0.0, now - job.created_at.timestamp()))
    return (
        "✓" if marked else "",
        short,
        job.title[: TITLE_WIDE if wide else TITLE_NARROW],
        health.status_text(job.status.value, stalled=stalled),
        stage_text(job),
        f"{job.progress:.0%}",
        str(job.priority),
        f"{job.attempts}/{job.max_attempts}",
        health.when(job.created_at),
        age,
        f"{health.duration(idle)} ago",
    )


def no_jobs(document: AdminDocument | None) -> str:
    """The empty state: what to do next, never a wipe without saying it wipes."""
    if document is not None and document.dashboard.agents_total == 0:
        return (
            "This database has no pipeline agents yet: run `agentos db migrate` (it creates "
            "them), then submit a video with `agentos jobs submit FILE`."
        )
    return (
        "No jobs yet: submit a video with `agentos jobs submit FILE`. Demo data, on a new "
        "home only: `agentos db reset-and-seed` ERASES everything in the database first."
    )
