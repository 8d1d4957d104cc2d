"""The embedded bus: a `bus_messages` table every process on one home reads by id.

`publish` inserts a row in its own short transaction and hands the event to this
process's subscribers at once. One daemon poller per bus reads rows newer than the last
id it saw every `bus_poll_interval_s` and delivers those other processes published; each
row carries the publishing bus's origin id so nothing is delivered twice.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError

from agentos.db.base import utcnow
from agentos.db.models.system import BusMessage
from agentos.errors import InvalidError, UnavailableError
from agentos.services.backends.base import BusEvent
from agentos.settings import Settings

logger = logging.getLogger(__name__)

ORIGIN_FIELD = "__bus_origin__"
RETENTION = timedelta(hours=1)
PRUNE_INTERVAL_S = 60.0
READ_BATCH = 500
QUEUE_LIMIT = 10_000
# On PostgreSQL ids are taken before commit, so a lower id can appear after a higher one;
# missing ids are re-read for a while before being given up.
GAP_WAIT_S = 10.0
MAX_GAPS = 1_000
_CLOSED = object()


def plain_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """What every subscriber receives: the payload after a JSON round trip (UUIDs as text)."""
    if not isinstance(payload, dict):
        raise InvalidError("A bus payload must be a JSON object")
    try:
        result: dict[str, Any] = orjson.loads(orjson.dumps(payload, default=str))
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidError(f"A bus payload must be JSON-serialisable: {exc}") from exc
    return result


class BusTable:
    """The rows behind the bus. SQLite reads bypass the engine's BEGIN IMMEDIATE hook so
    polling never takes the write lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._next_prune = 0.0

    def insert(self, channel: str, payloads: list[dict[str, Any]]) -> list[int]:
        """One row per payload, in one transaction; their ids, in order."""
        now = utcnow()
        rows = [{"channel": channel, "payload": payload, "created_at": now} for payload in payloads]
        with self.engine.begin() as connection:
            ids = [
                int(row_id)
                for row_id in connection.execute(
                    insert(BusMessage).values(rows).returning(BusMessage.id)
                ).scalars()
            ]
            if time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + PRUNE_INTERVAL_S
                newest = select(func.max(BusMessage.id)).scalar_subquery()
                connection.execute(
                    delete(BusMessage).where(
                        BusMessage.created_at < utcnow() - RETENTION, BusMessage.id < newest
                    )
                )
        return sorted(ids)

    def max_id(self) -> int:
        rows = self._read("SELECT max(id) FROM bus_messages", (), select(func.max(BusMessage.id)))
        return int(rows[0][0] or 0)

    def read_after(self, cursor: int, gaps: list[int]) -> list[tuple[int, str, dict[str, Any]]]:
        if self.is_sqlite:
            sql = "SELECT id, channel, payload FROM bus_messages WHERE id > ? ORDER BY id LIMIT ?"
            rows = self._read(sql, (cursor, READ_BATCH), None)
            return [(int(row[0]), row[1], orjson.loads(row[2])) for row in rows]
        condition = BusMessage.id > cursor
        if gaps:
            condition = or_(condition, BusMessage.id.in_(gaps))
        statement = (
            select(BusMessage.id, BusMessage.channel, BusMessage.payload)
            .where(condition)
            .order_by(BusMessage.id)
            .limit(READ_BATCH)
        )
        return [(int(row[0]), row[1], row[2]) for row in self._read("", (), statement)]

    def _read(self, sql: str, params: tuple[Any, ...], statement: Any) -> list[Any]:
        if self.is_sqlite:
            # Autocommit mode (set by the engine): a plain SELECT reads the WAL snapshot.
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(sql, params)
                return list(cursor.fetchall())
            finally:
                raw.close()
        with self.engine.connect() as connection:
            return list(connection.execute(statement).all())


class EmbeddedSubscription:
    def __init__(self, bus: EmbeddedBus, channels: frozenset[str], start_id: int) -> None:
        self.channels = channels
        self.start_id = start_id
        self._bus = bus
        self._queue: queue.Queue[BusEvent | object] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._closed = False

    def offer(self, event: BusEvent) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                # A reader that stopped reading loses its oldest events, not the process's memory.
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()

    def get(self, timeout_s: float) -> BusEvent | None:
        if self._closed:
            return None
        try:
            item = self._queue.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return None
        return item if isinstance(item, BusEvent) else None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus.unsubscribe(self)
            self._queue.put(_CLOSED)


class EmbeddedBus:
    name = "database"

    def __init__(self, settings: Settings, *, engine: Callable[[], Engine]) -> None:
        self.origin = uuid.uuid4().hex
        self._settings = settings
        self._engine = engine
        self._table: BusTable | None = None
        self._lock = threading.Lock()
        self._subscriptions: list[EmbeddedSubscription] = []
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._cursor = 0
        self._gaps: dict[int, float] = {}

    @property
    def table(self) -> BusTable:
        # The engine is built on first use, so constructing backends never touches the disk.
        if self._table is None:
            self._table = BusTable(self._engine())
        return self._table

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self.publish_many(channel, [payload])

    def publish_many(self, channel: str, payloads: list[dict[str, Any]]) -> None:
        if not channel or len(channel) > 64:
            raise InvalidError("A bus channel name must have 1 to 64 characters")
        if not payloads:
            return
        bodies = [plain_payload(payload) for payload in payloads]
        try:
            row_ids = self.table.insert(
                channel, [{**body, ORIGIN_FIELD: self.origin} for body in bodies]
            )
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc
        for body, row_id in zip(bodies, row_ids, strict=True):
            self._deliver(BusEvent(channel=channel, payload=body, id=str(row_id)))

    def subscribe(self, *channels: str) -> EmbeddedSubscription:
        if not channels:
            raise InvalidError("Subscribe to at least one channel")
        try:
            start_id = self.table.max_id()
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc
        subscription = EmbeddedSubscription(self, frozenset(channels), start_id)
        with self._lock:
            if not self._subscriptions:
                # Nobody listened until now: skip what was published meanwhile.
                self._cursor = max(self._cursor, start_id)
            self._subscriptions.append(subscription)
            if self._poller is None and not self._stop.is_set():
                self._poller = threading.Thread(
                    target=self._run, name=f"agentos-bus-{self.origin[:8]}", daemon=True
                )
                self._poller.start()
        return subscription

    def unsubscribe(self, subscription: EmbeddedSubscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def ping(self) -> None:
        try:
            self.table.max_id()
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc

    def close(self) -> None:
        self._stop.set()
        poller = self._poller
        if poller is not None and poller is not threading.current_thread():
            poller.join(timeout=5)
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()

    def _deliver(self, event: BusEvent, row_id: int | None = None) -> None:
        with self._lock:
            targets = [
                sub
                for sub in self._subscriptions
                if event.channel in sub.channels and (row_id is None or row_id > sub.start_id)
            ]
        for subscription in targets:
            subscription.offer(event)

    def _run(self) -> None:
        failures = 0
        while not self._stop.wait(self._settings.bus_poll_interval_s if failures == 0 else 1.0):
            try:
                while self._poll_once() and not self._stop.is_set():
                    pass
                failures = 0
            except Exception as exc:  # the poller must outlive a locked or missing database
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    logger.warning("bus poll failed (%d in a row): %s", failures, exc)

    def _poll_once(self) -> bool:
        """Read and deliver one batch; True when a full batch suggests more is waiting."""
        with self._lock:
            if not self._subscriptions:
                return False
            cursor, gaps = self._cursor, list(self._gaps)
        rows = self.table.read_after(cursor, gaps)
        now = time.monotonic()
        for row_id, channel, stored in rows:
            self._advance(row_id, now)
            payload = dict(stored)
            if payload.pop(ORIGIN_FIELD, None) == self.origin:
                continue
            self._deliver(BusEvent(channel=channel, payload=payload, id=str(row_id)), row_id)
        with self._lock:
            self._gaps = {gap: until for gap, until in self._gaps.items() if until > now}
        return len(rows) >= READ_BATCH

    def _advance(self, row_id: int, now: float) -> None:
        with self._lock:
            if self._gaps.pop(row_id, None) is not None or row_id <= self._cursor:
                return
            if not self.table.is_sqlite:
                missing = range(self._cursor + 1, min(row_id, self._cursor + 1 + MAX_GAPS))
                self._gaps.update(dict.fromkeys(missing, now + GAP_WAIT_S))
            self._cursor = row_id


def _unavailable(exc: SQLAlchemyError) -> UnavailableError:
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return UnavailableError(f"The event bus is unavailable: {reason}", code="BUS_UNAVAILABLE")
