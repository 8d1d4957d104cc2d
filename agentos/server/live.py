"""Live fan-out: the process's one bus subscription, handed to every connected WebSocket.

The read model's feed thread (agentos.services.admin_data.feed) reads the bus; this hub
registers one listener on it that moves each event onto the event loop with
`call_soon_threadsafe` and into a bounded queue per socket. A socket that falls behind by
`QUEUE_LIMIT` messages loses the backlog and gets a `resync` note instead (it should ask
for a snapshot), so one slow client never holds memory or slows the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson
from fastapi import FastAPI

from agentos.services import admin_data, health
from agentos.services.analytics import upkeep
from agentos.services.backends.base import BusEvent
from agentos.services.config import live as config_live
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access, ipallow
from agentos.services.system import controls

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 1000
RESYNC = orjson.dumps({"type": "resync", "reason": "too many events queued; ask for a snapshot"})


class LiveHub:
    def __init__(self, runtime: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._queues: set[asyncio.Queue[bytes]] = set()
        self.delivered = 0
        self._remove: Callable[[], None] | None = admin_data.add_listener(runtime, self._from_feed)

    @property
    def connections(self) -> int:
        return len(self._queues)

    def _from_feed(self, event: BusEvent) -> None:
        """Called on the feed thread: serialise once, deliver on the loop."""
        if not self._queues:
            # No socket: nothing to serialise, and the loop is not woken for every change.
            # A socket registering meanwhile hears what comes after it, like any new one.
            return
        message = orjson.dumps({"type": "event", **event.payload, "received_at": time.time()})
        try:
            self.loop.call_soon_threadsafe(self._dispatch, message)
        except RuntimeError:  # the loop has closed: the app is shutting down
            logger.debug("live hub: loop closed, event dropped")

    def _dispatch(self, message: bytes) -> None:
        for queue in self._queues:
            if queue.full():
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)
            queue.put_nowait(message)
            self.delivered += 1

    def register(self) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._queues.add(queue)
        return queue

    def unregister(self, queue: asyncio.Queue[bytes]) -> None:
        self._queues.discard(queue)

    def close(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None
        self._queues.clear()


def get_hub(app: FastAPI) -> LiveHub:
    """The app's hub, made on first use on the running loop (the startup hook makes it early)."""
    hub: LiveHub | None = getattr(app.state, "live_hub", None)
    if hub is None:
        hub = LiveHub(app.state.runtime, asyncio.get_running_loop())
        app.state.live_hub = hub
    return hub


def follow(runtime: Runtime, event: BusEvent) -> None:
    """What another process changed that this one keeps in memory: revoked logins, the IP
    allow-list, configuration, breakers, limits and the cache."""
    admin_access.handle_change(runtime, event.payload)
    ipallow.handle_change(runtime, event.payload)
    config_live.handle_change(runtime, event.payload)
    controls.handle_change(runtime, event.payload)
    upkeep.handle_change(runtime, event.payload)


def start_live(app: FastAPI) -> Callable[[], None]:
    """Startup hook: the hub, the read model's change feed and warmer; revocations and
    system controls (breakers, limits, cache) announced by any process reach this one."""
    runtime = app.state.runtime
    config_live.load(runtime)
    monitor = app.state.health_monitor = health.HealthMonitor(runtime)
    monitor.start()
    controls.apply_forced_breakers(runtime)
    stop_background = admin_data.start_background(runtime)
    stop_following = admin_data.add_listener(runtime, lambda event: follow(runtime, event))
    # Read again now that changes are heard: one announced before this was missed.
    config_live.load(runtime)
    hub = get_hub(app)

    def stop() -> None:
        monitor.stop()
        app.state.health_monitor = None
        stop_following()
        hub.close()
        app.state.live_hub = None
        stop_background()

    return stop
