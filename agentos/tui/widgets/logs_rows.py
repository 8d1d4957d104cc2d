"""What the System Logs view searches for and shows (plain; no Textual, no fetching).

The `/` filter is a small query: `level:warning source:worker trace:abc job:<uuid>` and any
other words as free text. It becomes the payload of `logs.search` (every part searched on
the server) and of `events.list` (source, trace and job on the server; `events.list` has
no text search and matches one severity exactly, so level and text are matched here, over
the newest `EVENT_WINDOW` events the server found).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text

from agentos.errors import InvalidError
from agentos.schemas.actions_logs import PAGE_MAX, LogRecordRead
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.events import EventRead
from agentos.tui.widgets import health
from agentos.tui.widgets.table import Col

LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LEVEL_ALIASES = {"WARN": "WARNING", "ERR": "ERROR", "CRIT": "CRITICAL", "FATAL": "CRITICAL"}
LEVEL_STYLES = {
    "DEBUG": "dim",
    "INFO": "",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold white on red",
}
KEYS = {"level": "level", "source": "source", "trace": "trace_id", "job": "job_id"}
LOG_PAGE = 100
EVENT_PAGE = 100
EVENT_WINDOW = PAGE_MAX  # events read when level or text must be matched here
# Narrow terminals (80 columns) drop the columns with a larger min_width.
LOG_COLUMNS = (
    Col("when"),
    Col("level"),
    Col("source", min_width=100),
    Col("logger", min_width=120),
    Col("job"),
    Col("trace", min_width=120),
    Col("message"),
)
EVENT_COLUMNS = (
    Col("when"),
    Col("severity"),
    Col("source", min_width=100),
    Col("kind", min_width=120),
    Col("ack"),
    Col("job"),
    Col("message"),
)
AUDIT_COLUMNS = (
    Col("seq"),
    Col("when"),
    Col("actor", min_width=100),
    Col("source", min_width=120),
    Col("action"),
    Col("outcome"),
    Col("code"),
    Col("ms", min_width=100),
)
OUTCOME_STYLES = {
    "success": "green",
    "dry run": "bold black on cyan",
    "replayed": "bold cyan",
    "failed": "bold red",
    "denied": "red",
}
MESSAGE_SHOWN = 160


def _level(word: str) -> str:
    name = LEVEL_ALIASES.get(word.upper(), word.upper())
    if name not in LEVELS:
        raise InvalidError(
            f"level: one of {', '.join(level.lower() for level in LEVELS)}, not {word!r}",
            code="VALIDATION_ERROR",
        )
    return name


HEX = frozenset("0123456789abcdef-")


def _job(word: str) -> uuid.UUID | str:
    """A whole job id, or a short one (4+ hex digits) the view resolves on the server."""
    try:
        return uuid.UUID(word)
    except ValueError:
        pass
    if len(word.replace("-", "")) >= 4 and set(word.lower()) <= HEX:
        return word.lower()
    raise InvalidError(
        f"job: a job id or its first 4+ hex digits, not {word!r}", code="VALIDATION_ERROR"
    )


@dataclass(frozen=True)
class LogFilter:
    level: str | None = None  # this level and above
    source: str | None = None
    trace_id: str | None = None
    job_id: uuid.UUID | None = None
    text: str | None = None
    job_ref: str | None = None  # a short job id typed after job:, until it is resolved

    def as_text(self) -> str:
        """The filter as it is typed after `/`."""
        parts = [
            f"{word}:{value}"
            for word, value in (
                ("level", self.level.lower() if self.level else None),
                ("source", self.source),
                ("trace", self.trace_id),
                ("job", self.job_id or self.job_ref),
            )
            if value
        ]
        return " ".join([*parts, *([self.text] if self.text else [])])

    def describe(self) -> str:
        parts = [
            f"level ≥ {self.level}" if self.level else "",
            f"source {self.source}*" if self.source else "",
            f"trace {self.trace_id}" if self.trace_id else "",
            f"job {self.job_id}" if self.job_id else "",
            f"text {self.text!r}" if self.text else "",
        ]
        return " · ".join(part for part in parts if part) or "everything"

    def with_level(self, level: str | None) -> LogFilter:
        return replace(self, level=level)

    def logs_payload(self, *, before: str | None = None, limit: int = LOG_PAGE) -> dict[str, Any]:
        payload: dict[str, Any] = {"limit": limit}
        for name, value in (
            ("level", self.level),
            ("source", self.source),
            ("trace_id", self.trace_id),
            ("job_id", str(self.job_id) if self.job_id else None),
            ("query", self.text),
            ("before", before),
        ):
            if value:
                payload[name] = value
        return payload

    @property
    def events_matched_here(self) -> bool:
        """Whether level or text must be matched here (events.list cannot)."""
        return bool(self.text) or self.level not in (None, "DEBUG")

    def events_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "limit": EVENT_WINDOW if self.events_matched_here else EVENT_PAGE
        }
        for name, value in (
            ("source", self.source),
            ("trace_id", self.trace_id),
            ("job_id", str(self.job_id) if self.job_id else None),
        ):
            if value:
                payload[name] = value
        return payload

    def event_matches(self, event: EventRead) -> bool:
        if self.level and severity_rank(event.severity) < LEVELS.index(self.level):
            return False
        if not self.text:
            return True
        needle = self.text.lower()
        return any(needle in value.lower() for value in (event.message, event.kind))


def severity_rank(severity: str) -> int:
    name = severity.upper()
    return LEVELS.index(name) if name in LEVELS else 0


def parse_filter(text: str) -> LogFilter:
    """`level:warn source:worker job:<id> disk full` -> LogFilter; a bad part is an error."""
    fields: dict[str, Any] = {}
    words = []
    for word in text.split():
        key, sep, value = word.partition(":")
        name = KEYS.get(key.lower()) if sep and value else None
        if name is None:
            words.append(word)
        elif name == "level":
            fields[name] = _level(value)
        elif name == "job_id":
            job = _job(value)
            fields["job_id" if isinstance(job, uuid.UUID) else "job_ref"] = job
        else:
            fields[name] = value
    return LogFilter(**fields, text=" ".join(words) or None)


def next_level(level: str | None) -> str | None:
    """The `l` key's cycle: everything, then INFO and up, ... CRITICAL, then everything."""
    if level is None:
        return LEVELS[1]
    index = LEVELS.index(level) + 1
    return LEVELS[index] if index < len(LEVELS) else None


def _job_cell(job_id: uuid.UUID | None) -> str:
    return str(job_id)[:8] if job_id else "-"


def log_row(record: LogRecordRead) -> tuple[object, ...]:
    return (
        health.when(record.created_at),
        Text(record.level, style=LEVEL_STYLES.get(record.level, "")),
        record.source,
        record.logger,
        _job_cell(record.job_id),
        (record.trace_id or "-")[:16],
        record.message[:MESSAGE_SHOWN],
    )


def event_row(event: EventRead) -> tuple[object, ...]:
    return (
        health.when(event.created_at),
        Text(event.severity, style=health.SEVERITY_STYLES.get(event.severity, "")),
        event.source,
        event.kind,
        "✓" if event.acknowledged_at else "",
        _job_cell(event.job_id),
        event.message[:MESSAGE_SHOWN],
    )


def audit_outcome(record: AuditRecordRead) -> str:
    """The outcome as an operator must read it: a dry run changed nothing, a replay only
    repeated an earlier answer (neither ran the action again)."""
    dry_run = bool((record.payload or {}).get("dry_run"))
    if dry_run and record.outcome == "success":
        return "dry run"
    if dry_run:
        return f"{record.outcome} (dry run)"
    return record.outcome


def audit_row(record: AuditRecordRead) -> tuple[object, ...]:
    outcome = audit_outcome(record)
    return (
        str(record.seq),
        health.when(record.created_at),
        record.actor_name,
        record.source,
        record.action,
        Text(outcome, style=OUTCOME_STYLES.get(outcome, "yellow")),
        record.error_code or "",
        f"{record.duration_ms:.1f}" if record.duration_ms is not None else "-",
    )


def audit_job(record: AuditRecordRead) -> uuid.UUID | None:
    """The job an audited action was about (its payload's job_id), if any."""
    value = (record.payload or {}).get("job_id")
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
