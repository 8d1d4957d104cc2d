"""Live change events from a server's `/ws`, for `HttpBackend.subscribe`.

`RemoteFeed` calls `on_event(payload)` for every change (`{"kind": "job.status", ...}`)
and `on_state(state, detail)` when the connection changes: "connecting", "live",
"disconnected" (with the retry delay) or "refused" (bad token or role, or a stored session
that expired). It reconnects with exponential backoff. Both callbacks run on a background
thread. The token may be a callable, asked at every connection (a stored session renews
its access token there).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from agentos.client.backend import EventCallback, StateCallback
from agentos.errors import AgentOSError

logger = logging.getLogger(__name__)

RECV_TIMEOUT_S = 0.5
FIRST_RETRY_S = 0.5
REFUSED_CODES = frozenset({4401, 4403})
TokenSource = str | None | Callable[[], str | None]


def ws_url(server: str) -> str:
    parts = urlsplit(server.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + "/ws", "", ""))


class RemoteFeed:
    def __init__(
        self,
        server: str,
        token: TokenSource,
        on_event: EventCallback,
        on_state: StateCallback,
        *,
        max_backoff_s: float,
    ) -> None:
        self.url = ws_url(server)
        self.token = token
        self.on_event = on_event
        self.on_state = on_state
        self.max_backoff_s = max_backoff_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="agentos-live", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=RECV_TIMEOUT_S * 4)

    def _loop(self) -> None:
        delay = FIRST_RETRY_S
        while not self._stop.is_set():
            self.on_state("connecting", "")
            try:
                headers = self._headers()
            except AgentOSError as exc:  # a stored session that cannot be renewed
                self.on_state("refused", exc.message)
                self._stop.wait(self.max_backoff_s)
                continue
            try:
                self._session(headers)
                delay = FIRST_RETRY_S
                if self._stop.is_set():
                    return
                problem = "the server closed the connection"
            except InvalidStatus as exc:
                problem = f"handshake refused (HTTP {exc.response.status_code})"
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code in REFUSED_CODES:
                    self.on_state("refused", exc.rcvd.reason or "token refused")
                    delay = self.max_backoff_s
                    self._stop.wait(delay)
                    continue
                problem = "connection lost"
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                problem = str(exc) or type(exc).__name__
            self.on_state("disconnected", f"{problem}; retrying in {delay:.1f} s")
            # Something may have changed while we were away: ask for a full refresh.
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff_s)

    def _headers(self) -> dict[str, str]:
        token = self.token() if callable(self.token) else self.token
        # In a header, not the URL: URLs end up in access logs.
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _session(self, headers: dict[str, str]) -> None:
        with connect(
            self.url, additional_headers=headers, open_timeout=5, close_timeout=1
        ) as socket:
            self.on_state("live", "")
            self.on_event({"kind": "resync"})
            while not self._stop.is_set():
                try:
                    raw = socket.recv(timeout=RECV_TIMEOUT_S)
                except TimeoutError:
                    continue
                self._deliver(raw)

    def _deliver(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            logger.debug("live: ignoring a message that is not JSON")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "event":
            self.on_event({key: value for key, value in message.items() if key != "type"})
        elif kind == "resync":
            self.on_event({"kind": "resync"})
        elif kind == "ping":
            return
