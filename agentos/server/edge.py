"""The edge of every request: one pure ASGI pass in front of the app.

One pass instead of four nested middlewares (each wrapping `send` and adding a coroutine
frame to every request) does, in order:
- the API version (`/api/v1/...` routed as `/api/...`, server/versioning.py);
- the trace id and start time, the request guard (server/middleware.py: NUL bytes, body
  limits, a token before any body, JSON shape);
- 405 for a literal path asked with a method it does not have (server/methods.py);
- the fast routes: a handful of hot reads (the SSOT cache hit) answered here, without
  the router and dependency resolution, by handlers that run the same authentication and
  rate-limit code as their full routes and hand back `None` whenever anything but the
  plain hit is needed (the full route then answers, audit and all);
- on the way out, every header the edge owns (security, trace id, response time, rate
  limit, API version, deprecation), and the request's figures (server/metrics.py).
An unhandled error still answers the error envelope with the trace id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentos.errors import AgentOSError
from agentos.server.errors import agentos_error_response, unexpected_error_response
from agentos.server.methods import MethodTable
from agentos.server.metrics import MetricsRecorder, route_template
from agentos.server.middleware import (
    BodyLimits,
    CredentialCheck,
    RefusedRequestError,
    guard_request,
    incoming_trace_id,
    refuse,
    response_headers,
)
from agentos.server.versioning import DEPRECATIONS, Deprecation, VersionPolicy
from agentos.services.context import trace_id_var

# A fast route's handler: a Response, or None to let the full route answer.
FastHandler = Callable[[Request], Awaitable[Response | None]]


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: BodyLimits,
        check_credential: CredentialCheck,
        routes: Callable[[], Sequence[BaseRoute]],
        recorder: MetricsRecorder | None = None,
        fast_routes: dict[tuple[str, str], FastHandler] | None = None,
        deprecations: tuple[Deprecation, ...] = DEPRECATIONS,
    ) -> None:
        self.app = app
        self.limits = limits
        self.check_credential = check_credential
        self.methods = MethodTable(routes)
        self.recorder = recorder
        self.fast_routes = dict(fast_routes or {})
        self.versions = VersionPolicy(deprecations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(self.versions.route(scope), receive, send)
        elif kind == "websocket":
            token = trace_id_var.set(_start(scope))
            try:
                await self.app(scope, receive, send)
            finally:
                trace_id_var.reset(token)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        trace_id = _start(scope)
        state = scope["state"]
        started: float = state["started"]
        token = trace_id_var.set(trace_id)
        path: str = scope["path"]
        extra = self.versions.headers(scope["method"], path)
        status = 500
        response_started = False
        template: str | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = response_headers(message, state, trace_id, started, path)
                headers.extend(extra)
                message["headers"] = headers
            await send(message)

        try:
            receive = await guard_request(scope, receive, self.limits, self.check_credential)
            refusal = self.methods.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
                return
            fast = self.fast_routes.get((scope["method"], path))
            if fast is not None and await self._fast(fast, scope, receive, send_with_headers):
                template = path
                return
            await self.app(scope, receive, send_with_headers)
        except RefusedRequestError as refused:
            if response_started:
                raise
            await refuse(scope, receive, send_with_headers, refused)
        except Exception as exc:
            # Starlette answers unhandled errors outside every user middleware, which would
            # drop X-Trace-Id exactly when an operator needs it; answer here instead.
            if response_started:
                raise
            response = unexpected_error_response(Request(scope), exc)
            await response(scope, receive, send_with_headers)
        finally:
            trace_id_var.reset(token)
            await self._record(scope, status, started, template)

    async def _fast(self, handler: FastHandler, scope: Scope, receive: Receive, send: Send) -> bool:
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except AgentOSError as error:  # e.g. rate limited: answered as the full route would
            response = agentos_error_response(request, error)
        if response is None:
            return False
        await response(scope, receive, send)
        return True

    async def _record(
        self, scope: Scope, status: int, started: float, template: str | None
    ) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        recorder.record(scope["method"], template or route_template(scope), status, elapsed_ms)
        if recorder.due():
            await anyio.to_thread.run_sync(recorder.flush_quietly)


def _start(scope: Scope) -> str:
    """The trace id of this request, kept with its start time in the request state."""
    trace_id = incoming_trace_id(scope)
    state: dict[str, Any] = scope.setdefault("state", {})
    state["trace_id"], state["started"] = trace_id, time.perf_counter()
    return trace_id
