"""Setting up a process's logs: `configure(runtime, process="server")` at its boundary.

The `agentos` loggers get a stderr handler (JSON when stderr is not a terminal, one
readable line when it is) and, given a runtime, the store handler; both stamp records with
the bound trace id, job and actor and the process label. Levels come from the settings
(`log_level`, and `log_levels` per logger, both changed live by config.set/logs.set_level).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from agentos.services.logs.records import (
    ContextFilter,
    JsonFormatter,
    ReadableFormatter,
    process_label,
)
from agentos.services.logs.store import StoreHandler, store_for
from agentos.services.runtime import Runtime
from agentos.settings import Settings

ROOT = "agentos"
_OURS = "_agentos_handler"


def configure(
    runtime: Runtime | None,
    *,
    process: str,
    settings: Settings | None = None,
    stream: TextIO | None = None,
) -> None:
    """Replace the handlers this module installed before (one set per process)."""
    logger = logging.getLogger(ROOT)
    for handler in list(logger.handlers):
        if getattr(handler, _OURS, False):
            logger.removeHandler(handler)
            handler.close()
    source = process_label(process)
    out = stream or sys.stderr
    console = logging.StreamHandler(out)
    console.setFormatter(ReadableFormatter() if _is_terminal(out) else JsonFormatter())
    handlers: list[logging.Handler] = [console]
    if runtime is not None:
        handlers.append(StoreHandler(store_for(runtime)))
    for handler in handlers:
        handler.addFilter(ContextFilter(source))
        setattr(handler, _OURS, True)
        logger.addHandler(handler)
    logger.propagate = False
    chosen = settings or (runtime.settings if runtime is not None else None)
    if chosen is not None:
        apply_levels(chosen)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def apply_levels(settings: Settings) -> None:
    """`log_level` on the agentos loggers, then each of `log_levels` on its own logger."""
    logging.getLogger(ROOT).setLevel(settings.log_level.upper())
    for name, level in settings.log_levels.items():
        logging.getLogger(name).setLevel(level.upper())
