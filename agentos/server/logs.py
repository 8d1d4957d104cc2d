"""Logging the server configures for itself: no credential ever reaches a log line."""

from __future__ import annotations

import logging
import re
from typing import Any

_TOKEN = re.compile(r"((?:^|[?&])(?:token|access_token)=)[^&\s\"]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`/ws?token=eyJ...` -> `/ws?token=[redacted]` (any `token=` or `access_token=`)."""
    return _TOKEN.sub(lambda match: match.group(1) + REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites the arguments of access-log records (uvicorn logs the full request line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


AGENTOS_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's default logging with the redaction filter on its access log, and the
    `agentos` loggers on stderr with time, level and name at `level`."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"redact_tokens": {"()": RedactTokens}}
    handlers = {name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()}
    handlers["agentos"] = {
        "class": "logging.StreamHandler",
        "formatter": "agentos",
        "stream": "ext://sys.stderr",
    }
    for handler in handlers.values():
        handler["filters"] = ["redact_tokens"]
    config["handlers"] = handlers
    config["formatters"] = {**LOGGING_CONFIG["formatters"], "agentos": {"format": AGENTOS_FORMAT}}
    config["loggers"] = {
        **LOGGING_CONFIG["loggers"],
        "agentos": {"handlers": ["agentos"], "level": level.upper(), "propagate": False},
    }
    return config
