"""The live hub hands bus events to connected sockets only: with none, the loop is left be."""

from __future__ import annotations

import orjson

from agentos.server.live import LiveHub
from agentos.services.backends.base import BusEvent
from agentos.services.runtime import Runtime


class _CountingLoop:
    """Stands in for the event loop: records what the feed thread hands it."""

    def __init__(self) -> None:
        self.handed: list[bytes] = []

    def call_soon_threadsafe(self, callback: object, message: bytes) -> None:
        self.handed.append(message)


def test_events_reach_the_loop_only_while_a_socket_listens(embedded_runtime: Runtime) -> None:
    loop = _CountingLoop()
    hub = LiveHub(embedded_runtime, loop)  # type: ignore[arg-type]
    try:
        event = BusEvent(channel="agentos.changes", payload={"kind": "job.updated", "n": 1})
        hub._from_feed(event)
        assert loop.handed == []  # no socket: not serialised, the loop not woken

        queue = hub.register()
        hub._from_feed(event)
        assert len(loop.handed) == 1
        sent = orjson.loads(loop.handed[0])
        assert (sent["type"], sent["kind"], sent["n"]) == ("event", "job.updated", 1)

        hub.unregister(queue)
        hub._from_feed(event)
        assert len(loop.handed) == 1
    finally:
        hub.close()
