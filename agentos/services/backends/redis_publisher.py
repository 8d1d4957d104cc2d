"""PUBLISH without waiting for Redis to answer: one connection with `CLIENT REPLY OFF`.

Every admin action announces its change on the bus after its answer. Through the pool that
was a full round trip per event: take a connection, send, wait for the subscriber count,
read it, give the connection back. The count is never used, and the wait was paid on a
worker thread competing for the interpreter lock with the event loop answering the next
request (about a fifth of the action route's CPU at 32 concurrent actions). Here a publish
is one `sendall` on a dedicated connection that Redis does not answer.

What the reply used to prove is checked another way:
- Each new connection sends its first PUBLISH with replies on and reads the answer, so a
  server that refuses us (authentication, ACL on PUBLISH) fails the call as before.
- A server that answers anyway (`CLIENT REPLY` refused or unknown) leaves bytes to read.
  At most once a second the connection is checked for them; if there are any, the
  publisher reads them and falls back to waiting for each reply, for good.
- A dead server fails the send (or the next one, when only the kernel knew), the
  connection is dropped, and the call is retried once on a new one, as the pool did.
A message sent into a connection the server has just closed can be lost without an error:
pub/sub delivers at most once anyway, to whoever listens at that moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import redis
from redis.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0


class QuietPublisher:
    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._client = client
        self._lock = threading.Lock()
        self._connection: AbstractConnection | None = None
        self._checked_at = 0.0
        self.replies_off = True  # False once the server showed it answers anyway

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Each (channel, message) in order; raises the client's errors as `publish` did."""
        if not messages:
            return
        if not self.replies_off:
            self._publish_answered(messages)
            return
        pending = list(messages)  # what was sent leaves it, so a retry sends nothing twice
        with self._lock:
            try:
                self._send(pending)
            except (RedisConnectionError, RedisTimeoutError):
                self._drop()
                self._send(pending)  # once more on a new connection, as the pool retries

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _send(self, pending: list[tuple[str, bytes]]) -> None:
        connection = self._connection
        if connection is None:
            connection = self._open(pending[0])
            del pending[0]
            if not pending:
                return
        elif self._check_due() and self._answered_anyway(connection):
            self._publish_answered(pending)
            return
        commands = [("PUBLISH", channel, message) for channel, message in pending]
        connection.send_packed_command(connection.pack_commands(commands), check_health=False)

    def _open(self, first: tuple[str, bytes]) -> AbstractConnection:
        """A new connection whose first PUBLISH is answered (proving we may), then quiet."""
        kwargs = dict(self._pool.connection_kwargs, health_check_interval=0)
        connection: AbstractConnection = self._pool.connection_class(**kwargs)
        try:
            connection.send_command("PUBLISH", *first, check_health=False)
            connection.read_response()
            connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)
        except BaseException:
            connection.disconnect()
            raise
        self._connection = connection
        self._checked_at = time.monotonic()
        return connection

    def _check_due(self) -> bool:
        return time.monotonic() - self._checked_at >= CHECK_EVERY_S

    def _answered_anyway(self, connection: AbstractConnection) -> bool:
        """Whether the server wrote anything since (it should not have). A connection the
        server closed raises the client's ConnectionError here, and the caller reconnects."""
        self._checked_at = time.monotonic()
        if not connection.can_read(timeout=0):
            return False
        try:
            answer: object = connection.read_response()
        except RedisError as error:
            answer = error
        logger.warning(
            "Redis answers on a CLIENT REPLY OFF connection (%s); "
            "publishing with replies from now on",
            answer,
        )
        self.replies_off = False
        self._drop()
        return True

    def _publish_answered(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if len(messages) == 1:
            self._client.publish(*messages[0])
            return
        pipeline = self._client.pipeline(transaction=False)
        for channel, message in messages:
            pipeline.publish(channel, message)
        pipeline.execute()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.disconnect()
