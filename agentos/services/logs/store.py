"""Writing log records to `log_records`, off the request path.

The handler only builds a small row and puts it on a bounded queue (no I/O, no lock
held for long); one writer thread per process inserts what has gathered, in batches. A
full queue drops the record and counts it (`dropped`), so logging never blocks a
request, however slow the database. Records written while the writer itself works (a
failed insert's warning) are not stored, so a broken store cannot feed itself.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert

from agentos import telemetry
from agentos.db.models import LogRecord
from agentos.services.logs.records import fields
from agentos.services.runtime import Runtime
from agentos.services.security.pii import storable

QUEUE_SIZE = 10_000
BATCH = 500
FLUSH_EVERY_S = 0.5
GATHER_S = 0.1
WRITER_THREAD = "agentos-log-writer"
_TABLE: Table = LogRecord.__table__  # type: ignore[assignment]


class LogStore:
    """The queue and the writer thread of one runtime."""

    def __init__(self, runtime: Runtime, *, size: int = QUEUE_SIZE) -> None:
        self.runtime = runtime
        self.size = size
        self.pid = os.getpid()
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=size)
        self.dropped = 0
        self.written = 0
        self.failed_batches = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def offer(self, row: dict[str, Any]) -> None:
        if os.getpid() != self.pid:  # a forked child (Celery prefork): its own queue and thread
            self._after_fork()
        if self._stop.is_set():  # closed: nobody would ever write it
            self._count_drop()
            return
        try:
            self.queue.put_nowait(row)
        except queue.Full:
            self._count_drop()
            return
        self._ensure_started()

    def _count_drop(self) -> None:
        telemetry.log_record_dropped()
        with self._lock:
            self.dropped += 1

    def _after_fork(self) -> None:
        # Nothing of the parent's threads survives a fork, and a lock or event it held at
        # that moment would stay held here: everything is made anew.
        self.pid = os.getpid()
        self.queue = queue.Queue(maxsize=self.size)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self.dropped = self.written = self.failed_batches = 0

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name=WRITER_THREAD, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() or not self.queue.empty():
            batch = self._gather()
            if not batch:
                continue
            try:
                self._write(batch)
            finally:
                for _ in batch:  # written or lost: no longer waited for by flush()
                    self.queue.task_done()

    def _gather(self) -> list[dict[str, Any]]:
        try:
            first = self.queue.get(timeout=FLUSH_EVERY_S)
        except queue.Empty:
            return []
        # Let a batch gather for a moment: one INSERT per record would cost the server more
        # CPU than the requests that logged them (scripts/bench_logs.py).
        batch = [first]
        deadline = time.monotonic() + GATHER_S
        while len(batch) < BATCH:
            try:
                batch.append(self.queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            with self.runtime.relaxed_engine.begin() as connection:
                connection.execute(insert(_TABLE), batch)
            self.written += len(batch)
        except Exception as exc:  # the store is down: these records are lost, stderr has them
            self.failed_batches += 1
            if self.failed_batches in (1, 10) or self.failed_batches % 100 == 0:
                print(
                    f"agentos: could not store {len(batch)} log record(s): {str(exc)[:200]}",
                    file=sys.stderr,
                )

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every record queued so far has been written (or found unwritable);
        False if that took longer than `timeout_s` (tests, a closing CLI)."""
        deadline = time.monotonic() + timeout_s
        while self.queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stats(self) -> dict[str, int]:
        return {
            "queued": self.queue.qsize(),
            "written": self.written,
            "dropped": self.dropped,
            "failed_batches": self.failed_batches,
        }


def store_for(runtime: Runtime) -> LogStore:
    return runtime.component(LogStore, lambda: LogStore(runtime))


class StoreHandler(logging.Handler):
    """Puts each record on its runtime's store queue."""

    def __init__(self, store: LogStore, level: int = logging.NOTSET) -> None:
        # NOTSET: the loggers' levels (log_level, logs.set_level) decide what is stored, so
        # a logger turned to DEBUG shows its DEBUG records in logs.search too.
        super().__init__(level)
        self.store = store

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread().name == WRITER_THREAD:
            return
        try:
            data = fields(record)
            extra = dict(data.get("extra") or {})
            if "exc" in data:
                extra["exc"] = data["exc"]
            job_id = data.get("job_id")
            self.store.offer(
                {
                    "id": uuid.uuid4(),
                    "created_at": datetime.fromtimestamp(record.created, UTC),
                    "level": record.levelname,
                    "logger": record.name[:128],
                    "message": storable(data["message"]),
                    "trace_id": (data.get("trace_id") or None) and str(data["trace_id"])[:64],
                    "source": str(data.get("source") or "")[:64],
                    "job_id": _uuid(job_id),
                    "actor": (data.get("actor") or None) and str(data["actor"])[:64],
                    "extra": _storable(extra) or None,
                }
            )
        except Exception:  # a record that cannot be stored must not break the caller
            self.handleError(record)


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(key)): _storable(item) for key, item in value.items()}
    return value


def _uuid(value: object) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
