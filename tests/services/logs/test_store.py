"""The log store: records leave the caller at once, a writer thread inserts them in
batches, a full queue drops (and counts) instead of blocking, and every record carries
the trace id, job and actor bound where it was written."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agentos.db.models import LogRecord
from agentos.services.context import bound
from agentos.services.logs import setup
from agentos.services.logs.records import ContextFilter
from agentos.services.logs.store import WRITER_THREAD, LogStore, StoreHandler, store_for
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.helpers import run

pytestmark = pytest.mark.usefixtures("restore_logging")
GATE_S = 20.0  # how long a held writer waits at most (the tests release it long before)


class HeldWriter:
    """Wraps a store's batch insert: records each call's thread and size, and holds the
    first batch until `release()` (a database that is slow right now)."""

    def __init__(self, store: LogStore) -> None:
        self.calls: list[tuple[str, int]] = []
        self.gate = threading.Event()
        self.first_taken = threading.Event()
        self._write: Callable[[list[dict[str, Any]]], None] = store._write
        store._write = self  # type: ignore[method-assign]

    def __call__(self, batch: list[dict[str, Any]]) -> None:
        self.calls.append((threading.current_thread().name, len(batch)))
        if len(self.calls) == 1:
            self.first_taken.set()
            self.gate.wait(GATE_S)
        self._write(batch)

    def release(self) -> None:
        self.gate.set()


def _stored(runtime: Runtime, logger: str) -> list[LogRecord]:
    with runtime.session() as session:
        return list(
            session.scalars(
                select(LogRecord).where(LogRecord.logger == logger).order_by(LogRecord.created_at)
            )
        )


@pytest.fixture
def own_logger() -> Iterator[Callable[[LogStore, str], logging.Logger]]:
    """A logger of the test's own, writing only to the given store (no propagation)."""
    made: list[tuple[logging.Logger, logging.Handler]] = []

    def make(store: LogStore, name: str) -> logging.Logger:
        logger = logging.getLogger(name)
        handler = StoreHandler(store)
        handler.addFilter(ContextFilter("test@host:1"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        made.append((logger, handler))
        return logger

    yield make
    for logger, handler in made:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def test_records_are_written_in_batches_by_the_writer_thread(runtime: Runtime) -> None:
    setup.configure(runtime, process="server", stream=io.StringIO())
    store = store_for(runtime)
    held = HeldWriter(store)
    logger = logging.getLogger("agentos.tests.batches")
    logger.info("record 0")
    assert held.first_taken.wait(5), "the writer thread never took the first record"
    for n in range(1, 300):
        logger.info("record %d", n)
    # Nothing was written yet (the database is "slow"), and the caller was not held up.
    assert _stored(runtime, "agentos.tests.batches") == []
    held.release()
    assert store.flush(10)
    rows = _stored(runtime, "agentos.tests.batches")
    assert sorted(int(row.message.split()[1]) for row in rows) == list(range(300))
    assert {name for name, _ in held.calls} == {WRITER_THREAD}
    assert threading.current_thread().name != WRITER_THREAD
    # The first record alone, then everything that gathered meanwhile in one insert.
    assert [size for _, size in held.calls] == [1, 299]
    assert store.stats()["written"] >= 300
    assert store.stats()["dropped"] == 0


def test_a_full_queue_drops_and_counts_and_never_blocks(
    runtime: Runtime, own_logger: Callable[[LogStore, str], logging.Logger]
) -> None:
    store = LogStore(runtime, size=5)
    held = HeldWriter(store)
    logger = own_logger(store, "agentos.tests.drops")
    try:
        logger.info("first")
        assert held.first_taken.wait(5)
        slowest = 0.0
        for n in range(40):
            started = time.perf_counter()
            logger.info("flood %d", n)
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 1.0  # a blocking put would wait for the held writer (20 s)
        # The writer holds the first record; the queue holds 5; the other 35 were dropped.
        assert store.stats()["queued"] == 5
        assert store.dropped == 35
        assert store.stats()["dropped"] == 35
        held.release()
        assert store.flush(10)
        rows = _stored(runtime, "agentos.tests.drops")
        assert [row.message for row in rows] == ["first", *(f"flood {n}" for n in range(5))]
        assert store.stats()["written"] == 6
    finally:
        held.release()
        store.close()


def test_a_store_that_cannot_write_loses_records_but_not_the_caller(
    tmp_path: Path, own_logger: Callable[[LogStore, str], logging.Logger]
) -> None:
    unreachable = Settings(
        home=tmp_path / "nowhere", database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    broken = Runtime(unreachable)
    store = LogStore(broken)
    logger = own_logger(store, "agentos.tests.broken")
    try:
        started = time.perf_counter()
        for n in range(20):
            logger.error("nobody stores %d", n)
        assert time.perf_counter() - started < 1.0
        assert store.flush(15)
        assert store.failed_batches >= 1
        assert store.written == 0
    finally:
        store.close()
        broken.close()


def test_records_carry_the_bound_trace_job_and_actor(runtime: Runtime) -> None:
    stream = io.StringIO()
    setup.configure(runtime, process="server", stream=stream)
    logger = logging.getLogger("agentos.tests.context")
    job_id = uuid.uuid4()
    seen_in_thread: list[str | None] = []

    def elsewhere() -> None:  # a thread does not inherit the caller's context
        logger.info("from a thread")
        seen_in_thread.append("done")

    with bound(trace_id="trace-ctx-1", job_id=job_id, actor="alice"):
        logger.info("inside %s", "the block")
        logger.warning("told otherwise", extra={"trace_id": "given-trace", "attempt": 2})
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        with bound(trace_id="nested"):
            logger.info("nested trace")
        try:
            raise ValueError("kaput")
        except ValueError:
            logger.exception("it broke")
    logger.info("outside")
    assert store_for(runtime).flush(10)

    found = {
        record["message"]: record
        for record in run(runtime, "logs.search", {"logger": "agentos.tests.context"}).result[
            "records"
        ]
    }
    assert set(found) == {
        "inside the block",
        "told otherwise",
        "from a thread",
        "nested trace",
        "it broke",
        "outside",
    }
    inside = found["inside the block"]
    assert (inside["trace_id"], inside["job_id"], inside["actor"]) == (
        "trace-ctx-1",
        str(job_id),
        "alice",
    )
    assert inside["level"] == "INFO"
    assert inside["source"].startswith("server@")
    assert inside["source"].endswith(f":{__import__('os').getpid()}")
    explicit = found["told otherwise"]
    assert explicit["trace_id"] == "given-trace"
    assert explicit["job_id"] == str(job_id)
    assert explicit["extra"] == {"attempt": 2}
    assert found["nested trace"]["trace_id"] == "nested"
    assert found["nested trace"]["job_id"] == str(job_id)
    assert "ValueError: kaput" in found["it broke"]["extra"]["exc"]
    for alone in ("from a thread", "outside"):
        assert (found[alone]["trace_id"], found[alone]["job_id"], found[alone]["actor"]) == (
            None,
            None,
            None,
        )
    # stderr (not a terminal here) had the same records, one JSON object a line.
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = {line["message"]: line for line in lines if line["logger"] == "agentos.tests.context"}
    assert ours["inside the block"]["trace_id"] == "trace-ctx-1"
    assert ours["inside the block"]["job_id"] == str(job_id)
    assert ours["inside the block"]["actor"] == "alice"
    assert "trace_id" not in ours["outside"]  # unknown fields are left out, not null


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stderr_is_json_off_a_terminal_and_readable_on_one(runtime: Runtime) -> None:
    logger = logging.getLogger("agentos.tests.format")
    piped = io.StringIO()
    setup.configure(None, process="cli", stream=piped)
    with bound(trace_id="fmt-trace", actor="bob"):
        logger.warning("disk at %d%%", 91)
    record = json.loads(piped.getvalue().strip())
    assert record["level"] == "WARNING"
    assert record["logger"] == "agentos.tests.format"
    assert record["message"] == "disk at 91%"
    assert record["trace_id"] == "fmt-trace"
    assert record["actor"] == "bob"
    assert record["source"].startswith("cli@")
    assert record["time"].endswith("+00:00")

    terminal = _Terminal()
    setup.configure(None, process="cli", stream=terminal)
    with bound(trace_id="fmt-trace", actor="bob"):
        logger.warning("disk at %d%%", 92)
    line = terminal.getvalue().strip()
    assert not line.startswith("{")
    assert "WARNING" in line
    assert "agentos.tests.format: disk at 92%" in line
    assert "[trace fmt-trace by bob]" in line
    assert piped.getvalue().count("\n") == 1  # the old handler was replaced, not kept


def test_configure_twice_keeps_one_set_of_handlers(runtime: Runtime) -> None:
    for _ in range(3):
        setup.configure(runtime, process="server", stream=io.StringIO())
    ours = [
        handler
        for handler in logging.getLogger(setup.ROOT).handlers
        if getattr(handler, "_agentos_handler", False)
    ]
    assert sorted(type(handler).__name__ for handler in ours) == ["StoreHandler", "StreamHandler"]
    logging.getLogger("agentos.tests.once").info("just once")
    assert store_for(runtime).flush(10)
    with runtime.session() as session:
        count = session.scalar(select(func.count()).where(LogRecord.logger == "agentos.tests.once"))
    assert count == 1


def test_a_closed_store_drops_and_counts_what_it_is_still_given(
    runtime: Runtime, own_logger: Callable[[LogStore, str], logging.Logger]
) -> None:
    store = LogStore(runtime)
    logger = own_logger(store, "agentos.tests.closed")
    logger.info("kept")
    assert store.flush(10)
    store.close()
    for n in range(3):
        logger.info("too late %d", n)
    assert store.stats() == {"queued": 0, "written": 1, "dropped": 3, "failed_batches": 0}
    assert [row.message for row in _stored(runtime, "agentos.tests.closed")] == ["kept"]
