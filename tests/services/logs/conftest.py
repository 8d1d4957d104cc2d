"""Fixtures for the structured-log tests: the `agentos` loggers put back as they were (the
tests install real handlers on them), and records written straight into `log_records`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from agentos.db.models import LogRecord
from agentos.services.logs import setup
from agentos.services.runtime import Runtime


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Whatever a test does to the logging tree (handlers, levels, propagation) is undone."""
    root = logging.getLogger(setup.ROOT)
    handlers, propagate = list(root.handlers), root.propagate
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level = root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.propagate = propagate
    root.setLevel(root_level)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name != setup.ROOT:
            logger.setLevel(levels.get(name, logging.NOTSET))


def add_records(runtime: Runtime, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert log records as given (created_at, level, source, ...); returns their ids."""
    made = []
    with runtime.session() as session:
        for row in rows:
            record = LogRecord(
                id=row.get("id", uuid.uuid4()),
                created_at=row["created_at"],
                level=row.get("level", "INFO"),
                logger=row.get("logger", "agentos.tests"),
                message=row.get("message", "a message"),
                source=row.get("source", "server@test:1"),
                trace_id=row.get("trace_id"),
                job_id=row.get("job_id"),
                actor=row.get("actor"),
                extra=row.get("extra"),
            )
            session.add(record)
            made.append(record.id)
    return made


def at(moment: datetime) -> str:
    return moment.isoformat()
