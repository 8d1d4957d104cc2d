"""Pure ASGI middleware (no BaseHTTPMiddleware overhead on the hot path)."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentos.server.errors import error_body

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

        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((TRACE_HEADER, trace_id.encode("latin-1")))
                elapsed = (time.perf_counter() - started) * 1000
                headers.append((b"x-response-time-ms", f"{elapsed:.2f}".encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Starlette answers unhandled errors outside every user middleware, which would
            # drop X-Trace-Id exactly when an operator needs it; answer here instead.
            if response_started or scope["type"] != "http":
                raise
            from agentos.server.errors import unexpected_error_response

            response = unexpected_error_response(Request(scope), exc)
            await response(scope, receive, send_with_headers)
        finally:
            current_trace_id.reset(token)


RATELIMIT_STATE_KEY = "ratelimit_headers"


class RateLimitHeadersMiddleware:
    """Adds the `RateLimit`/`RateLimit-Policy` headers a rate-limit dependency left in the
    request state, also when the route returns its own Response object."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            extra = state.get(RATELIMIT_STATE_KEY)
            if message["type"] == "http.response.start" and extra:
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in extra.items():
                    if name.lower().encode("latin-1") not in present:
                        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PayloadTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {limit} bytes")


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`: at once from Content-Length, or while a chunked
    body streams in (the app never holds more than the limit in memory)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        body = error_body(
            request, message=PayloadTooLarge(self.max_bytes).detail, code="PAYLOAD_TOO_LARGE"
        )
        response = JSONResponse(body, status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
