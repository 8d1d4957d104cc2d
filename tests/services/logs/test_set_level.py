"""logs.set_level: a logger's level changes here at once and in another process (which
follows the bus) within about a second; NOTSET hands the logger back to its parent; a
logger turned to DEBUG has its DEBUG records stored too."""

from __future__ import annotations

import io
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentos.errors import InvalidError
from agentos.services.logs import setup
from agentos.services.logs.store import store_for
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.helpers import audit_rows, run
from tests.services.actions.servers import server_env

pytestmark = pytest.mark.usefixtures("restore_logging")
WATCHED = ("agentos.tests.watched", "agentos.tests.watched.child", "agentos")
GENEROUS_S = 10.0  # the aim is ~1 s; the deadline only keeps a broken build from hanging


class Follower:
    """`level_follower.py` in its own process, its JSON lines read by a thread."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.services.logs.level_follower", *WATCHED],
            env=server_env(settings),
            cwd=Path(__file__).resolve().parents[3],
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        threading.Thread(target=self._read, daemon=True).start()
        first = self.lines.get(timeout=60)
        assert first.get("ready"), first
        self.levels: dict[str, str] = first["levels"]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def wait_for(self, wanted: dict[str, str]) -> float:
        """Seconds until the follower reports `wanted` (fails after GENEROUS_S)."""
        started = time.monotonic()
        while not all(self.levels.get(name) == level for name, level in wanted.items()):
            left = GENEROUS_S - (time.monotonic() - started)
            assert left > 0, f"the other process still has {self.levels}, not {wanted}"
            try:
                self.levels = self.lines.get(timeout=left)["levels"]
            except queue.Empty:
                continue
        return time.monotonic() - started

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture
def follower(settings: Settings, runtime: Runtime, tmp_path: Path) -> Iterator[Follower]:
    settings.signing_key()
    started = Follower(settings, tmp_path / "follower.log")
    yield started
    started.stop()


def _set(runtime: Runtime, logger: str, level: str) -> dict[str, Any]:
    return run(runtime, "logs.set_level", {"logger": logger, "level": level}).result


def test_a_level_set_here_reaches_another_process(runtime: Runtime, follower: Follower) -> None:
    assert follower.levels == dict.fromkeys(WATCHED, "INFO")
    result = _set(runtime, "agentos.tests.watched", "DEBUG")
    assert result["levels"] == {"agentos.tests.watched": "DEBUG"}
    assert result["level"] == "INFO"
    # This process at once (the action's own commit applied it) ...
    assert logging.getLogger("agentos.tests.watched").level == logging.DEBUG
    assert logging.getLogger("agentos.tests.watched.child").getEffectiveLevel() == logging.DEBUG
    # ... and the other one through the bus.
    took = follower.wait_for(
        {"agentos.tests.watched": "DEBUG", "agentos.tests.watched.child": "DEBUG"}
    )
    print(f"level applied in the other process after {took:.3f} s")
    assert follower.levels["agentos"] == "INFO"

    _set(runtime, "agentos", "ERROR")
    follower.wait_for({"agentos": "ERROR", "agentos.tests.watched": "DEBUG"})
    assert logging.getLogger("agentos").level == logging.ERROR

    # NOTSET: the logger follows its parent again, here and there.
    result = _set(runtime, "agentos.tests.watched", "NOTSET")
    assert result["levels"] == {"agentos": "ERROR"}
    assert logging.getLogger("agentos.tests.watched").level == logging.NOTSET
    follower.wait_for({"agentos.tests.watched": "ERROR", "agentos.tests.watched.child": "ERROR"})
    run(runtime, "config.reset", {"key": "log_levels"})
    follower.wait_for(dict.fromkeys(WATCHED, "INFO"))
    assert logging.getLogger("agentos").getEffectiveLevel() == logging.INFO
    changes = [row.payload for row in audit_rows(runtime, "logs.set_level")]
    assert [change["level"] for change in changes] == ["DEBUG", "ERROR", "NOTSET"]


def test_a_process_started_later_gets_the_levels_too(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    _set(runtime, "agentos.tests.watched.child", "WARNING")
    late = Follower(settings, tmp_path / "late.log")
    try:
        assert late.levels["agentos.tests.watched.child"] == "WARNING"
        assert late.levels["agentos.tests.watched"] == "INFO"
    finally:
        late.stop()


def test_debug_records_of_a_logger_turned_to_debug_are_stored(runtime: Runtime) -> None:
    setup.configure(runtime, process="server", stream=io.StringIO())
    logger = logging.getLogger("agentos.tests.verbose")
    logger.debug("not yet")
    _set(runtime, "agentos.tests.verbose", "DEBUG")
    logger.debug("now %s", "visible")
    logging.getLogger("agentos.tests.quiet").debug("still hidden")
    assert store_for(runtime).flush(10)
    found = run(runtime, "logs.search", {"query": "visible"}).result["records"]
    assert [(record["message"], record["level"]) for record in found] == [("now visible", "DEBUG")]
    assert run(runtime, "logs.search", {"query": "not yet"}).result["records"] == []
    assert run(runtime, "logs.search", {"query": "still hidden"}).result["records"] == []


@pytest.mark.parametrize(
    "payload",
    [
        {"logger": "agentos", "level": "LOUD"},
        {"logger": "has space", "level": "INFO"},
        {"logger": "", "level": "INFO"},
        {"logger": "x" * 200, "level": "INFO"},
    ],
)
def test_bad_levels_and_names_are_refused(
    embedded_runtime: Runtime, payload: dict[str, Any]
) -> None:
    with pytest.raises(InvalidError):
        run(embedded_runtime, "logs.set_level", payload)
    assert embedded_runtime.settings.log_levels == {}
