"""Runtime values applied to a running process.

A runtime value is a row `config.<name>` of the `settings` table. Each process applies
them to its own `Settings` object (which every part of it reads at use), at start (`load`)
and whenever any process announces a change (`handle_change`, on the bus: within a second
everywhere). The values the process started with (environment, then defaults) are kept,
so removing a runtime value (`config.reset`) brings the started value back.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import RuntimeSetting
from agentos.services.config import catalog
from agentos.services.logs import setup
from agentos.services.runtime import Runtime
from agentos.settings import Settings

logger = logging.getLogger(__name__)
PREFIX = "config."
CHANGED = "config.changed"


class Applied:
    """What this process started with, and which names hold a runtime value now."""

    def __init__(self, settings: Settings) -> None:
        self.started = settings.model_copy(deep=True)
        self.names: frozenset[str] = frozenset()
        self.lock = threading.Lock()


def applied(runtime: Runtime) -> Applied:
    return runtime.component(Applied, lambda: Applied(runtime.settings))


def stored(session: Session) -> dict[str, Any]:
    """The runtime values, by setting name (rows of names no longer settable are ignored)."""
    rows = session.execute(
        select(RuntimeSetting.key, RuntimeSetting.value).where(
            RuntimeSetting.key.startswith(PREFIX)
        )
    )
    found = {key[len(PREFIX) :]: value for key, value in rows}
    return {name: value for name, value in found.items() if name in catalog.RUNTIME_SETTABLE}


def apply(runtime: Runtime, values: dict[str, Any]) -> list[str]:
    """Make `values` the runtime values of this process; returns the names that changed."""
    state, settings = applied(runtime), runtime.settings
    before_levels = dict(settings.log_levels)
    changed = []
    with state.lock:
        for name in catalog.RUNTIME_SETTABLE:
            if name in values:
                try:
                    wanted = catalog.typed(name, values[name])
                except ValueError:
                    logger.warning("ignoring the stored runtime value of %s: invalid", name)
                    continue
            elif name in state.names:
                wanted = getattr(state.started, name)
            else:
                continue
            if getattr(settings, name) != wanted:
                setattr(settings, name, wanted)
                changed.append(name)
        state.names = frozenset(values)
    if "log_levels" in changed:
        for name in set(before_levels) - set(settings.log_levels):
            logging.getLogger(name).setLevel(logging.NOTSET)  # back to its parent's
    if {"log_level", "log_levels"} & set(changed):
        setup.apply_levels(settings)
    return changed


def load(runtime: Runtime) -> list[str]:
    """Apply what the database holds now (at start, and after any announced change)."""
    try:
        with runtime.read_session() as session:
            values = stored(session)
    except Exception as exc:  # no database yet, or down: keep what is in force
        logger.warning("could not read the runtime configuration: %s", str(exc)[:200])
        return []
    return apply(runtime, values)


def handle_change(runtime: Runtime, change: dict[str, Any]) -> None:
    if change.get("kind") == CHANGED:
        load(runtime)
