"""Pure ASGI middleware (no BaseHTTPMiddleware overhead on the hot path)."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TRACE_HEADER = b"x-trace-id"
_VALID_TRACE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
current_trace_id: ContextVar[str | None] = ContextVar("current_trace_id", default=None)


def _incoming_trace_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == TRACE_HEADER:
            text = value.decode("latin-1").strip()
            if _VALID_TRACE.match(text):
                return text
            break
    return uuid.uuid4().hex


class TraceMiddleware:
    """Accepts or generates `X-Trace-Id`, times the request, returns both as headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        trace_id = _incoming_trace_id(scope)
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        state["trace_id"] = trace_id
        state["started"] = started
        token = current_trace_id.set(trace_id)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((TRACE_HEADER, trace_id.encode("latin-1")))
                elapsed = (time.perf_counter() - started) * 1000
                headers.append((b"x-response-time-ms", f"{elapsed:.2f}".encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_trace_id.reset(token)
