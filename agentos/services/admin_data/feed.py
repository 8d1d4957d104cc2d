"""One bus subscription per process for the read model: freshness and live fan-out.

The feed thread reads the changes channel (every state change a dashboard shows) and the
SSOT channel (another process rebuilt the document). It first updates the store's
freshness, then hands the event to every registered listener (the WebSocket hub), so a
snapshot asked for right after an event already reflects it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from agentos.services import events
from agentos.services.backends.base import BusEvent, Subscription
from agentos.services.runtime import Runtime

logger = logging.getLogger(__name__)

SSOT_CHANNEL = "agentos.ssot"
POLL_TIMEOUT_S = 0.5
RETRY_DELAY_S = 1.0

Listener = Callable[[BusEvent], None]


class ChangeFeed:
    def __init__(self, runtime: Runtime, *, on_change: Listener, on_rebuilt: Listener) -> None:
        self.runtime = runtime
        self._on_change = on_change
        self._on_rebuilt = on_rebuilt
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.healthy = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, *, wait_s: float = 2.0) -> None:
        """Start once; waits (bounded) until subscribed, so no event after this is missed."""
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="ssot-feed", daemon=True)
            self._thread.start()
        self._ready.wait(wait_s)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=POLL_TIMEOUT_S * 4)
        self.healthy = False

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def _subscribe(self) -> Subscription | None:
        try:
            subscription = self.runtime.backends.bus.subscribe(events.CHANGES_CHANNEL, SSOT_CHANNEL)
        except Exception as exc:  # bus down: retry; until then the store trusts no local copy
            logger.warning("ssot feed: cannot subscribe (%s); retrying", exc)
            return None
        self.healthy = True
        self._ready.set()
        return subscription

    def _loop(self) -> None:
        while not self._stop.is_set():
            subscription = self._subscribe()
            if subscription is None:
                self._ready.set()
                self._stop.wait(RETRY_DELAY_S)
                continue
            try:
                self._pump(subscription)
            except Exception as exc:
                self.healthy = False
                # Anything may have changed while we were not listening.
                self._on_change(
                    BusEvent(channel=events.CHANGES_CHANNEL, payload={"kind": "resync"})
                )
                logger.warning("ssot feed: subscription failed (%s); resubscribing", exc)
                self._stop.wait(RETRY_DELAY_S)
            finally:
                try:
                    subscription.close()
                except Exception:  # closing a broken subscription may fail too
                    logger.debug("ssot feed: close failed", exc_info=True)
        self.healthy = False

    def _pump(self, subscription: Subscription) -> None:
        while not self._stop.is_set():
            message = subscription.get(POLL_TIMEOUT_S)
            if message is None:
                continue
            if message.channel == SSOT_CHANNEL:
                self._on_rebuilt(message)
                continue
            self._on_change(message)
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(message)
                except Exception:  # one broken listener must not starve the others
                    logger.exception("ssot feed listener failed")


class Warmer:
    """Keeps the cached document fresh: every interval, and soon after a change.

    Changes are coalesced: the first after a quiet spell is rebuilt `DEBOUNCE_S` later, and
    under a flood (every action emits one) at most one rebuild starts per `MIN_GAP_S`; the
    one thread means at most one rebuild in flight. Readers that must see a change at once
    still get it through the store's single-flight miss path.
    """

    DEBOUNCE_S = 0.05
    MIN_GAP_S = 0.5

    def __init__(self, interval_s: Callable[[], float], warm: Callable[[], object]) -> None:
        self._interval = interval_s  # read every tick: the setting may change live
        self._warm = warm
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.warms = 0

    @property
    def interval_s(self) -> float:
        return self._interval()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ssot-warmer", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        # A short first delay: a process that starts and stops at once (tests, CLI) pays nothing.
        self._stop.wait(min(1.0, self.interval_s))
        while not self._stop.is_set():
            started = time.monotonic()
            self._wake.clear()  # changes from here on need another pass
            try:
                self.warms += 1
                self._warm()
            except Exception:  # a failed warm is retried next tick; readers still get data
                logger.exception("ssot warm failed")
            woken = self._wake.wait(self.interval_s)
            if woken and not self._stop.is_set():
                gap = started + self.MIN_GAP_S - time.monotonic()
                self._stop.wait(max(self.DEBOUNCE_S, gap))
