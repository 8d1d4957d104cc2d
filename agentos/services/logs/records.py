"""What one log record says, and how it is written: JSON for machines, one readable line
for people."""

from __future__ import annotations

import json
import logging
import os
import socket
import traceback
from datetime import UTC, datetime
from typing import Any

from agentos.services.context import actor_var, job_id_var, trace_id_var

# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "trace_id",
    "job_id",
    "actor",
    "source",
}
MAX_MESSAGE = 4000


def process_label(process: str) -> str:
    """Where records come from: `server@host:pid`."""
    return f"{process}@{socket.gethostname()}:{os.getpid()}"[:64]


class ContextFilter(logging.Filter):
    """Stamps each record with the trace id, job and actor bound where it was written (an
    explicit `extra=` wins), and the process it came from."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            record.trace_id = trace_id_var.get()
        if getattr(record, "job_id", None) is None:
            record.job_id = job_id_var.get()
        if getattr(record, "actor", None) is None:
            record.actor = actor_var.get()
        record.source = self.source
        return True


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record as plain data (message formatted, exception as text)."""
    message = record.getMessage()
    data: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": message[:MAX_MESSAGE],
        "trace_id": getattr(record, "trace_id", None),
        "job_id": _text(getattr(record, "job_id", None)),
        "actor": getattr(record, "actor", None),
        "source": getattr(record, "source", None),
    }
    extra = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
    if extra:
        data["extra"] = {key: _plain(value) for key, value in extra.items()}
    if record.exc_info and record.exc_info[0] is not None:
        data["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    return data


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {key: value for key, value in fields(record).items() if value is not None}
        return json.dumps(data, ensure_ascii=False, default=str)


class ReadableFormatter(logging.Formatter):
    """`12:00:01 INFO  agentos.jobs: job created [trace abc job 1f2e]` (+ traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        data = fields(record)
        context = " ".join(
            f"{name} {str(data[key])[:12]}"
            for name, key in (("trace", "trace_id"), ("job", "job_id"), ("by", "actor"))
            if data.get(key)
        )
        time = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{time} {record.levelname:<7} {record.name}: {data['message']}"
        if context:
            line += f" [{context}]"
        if "exc" in data:
            line += "\n" + data["exc"]
        return line
