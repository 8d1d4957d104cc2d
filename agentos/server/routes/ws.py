"""`GET /ws`: live change events for admin readers, snapshots on request, heartbeats.

Authenticate with `?token=<access token>` or `Authorization: Bearer`. A refused socket is
accepted and closed at once with 4401 (no or bad credentials) or 4403 (role or IP), so the
client can tell why. Messages are JSON text:
server -> client: `{"type": "hello"}`, `{"type": "event", "kind": ..., ...}`,
`{"type": "snapshot", "cache": {...}, "data": {...}}`, `{"type": "ping"}`, `{"type": "resync"}`,
`{"type": "error", "error": ...}`; client -> server: `{"type": "snapshot"}`, `{"type": "ping"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from agentos.errors import AgentOSError, ForbiddenError, UnauthenticatedError
from agentos.server.deps import bearer_or_none, resolve_client_ip
from agentos.server.live import get_hub
from agentos.services import admin_data
from agentos.services.actions import denials
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.security.admin_access import ReadForbiddenError, authorize_reader

router = APIRouter(tags=["Live"])
HEARTBEAT_S = 15.0
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
BEARER_PROTOCOL = "bearer"


def offered_token(websocket: WebSocket) -> tuple[str | None, str | None]:
    """(token, subprotocol to accept): `?token=` (scripts), the Authorization header, or
    for browsers, which can set neither safely, `Sec-WebSocket-Protocol: bearer, <token>`."""
    protocols: list[str] = list(websocket.scope.get("subprotocols") or [])
    if BEARER_PROTOCOL in protocols:
        at = protocols.index(BEARER_PROTOCOL)
        if at + 1 < len(protocols):
            return protocols[at + 1], BEARER_PROTOCOL
    header = bearer_or_none(websocket.headers.get("authorization"))
    return websocket.query_params.get("token") or header, None


async def _authorize(
    websocket: WebSocket, runtime: Runtime, credential: str | None, subprotocol: str | None
) -> Actor | None:
    peer = websocket.client.host if websocket.client else "unknown"
    ip = resolve_client_ip(
        peer, websocket.headers.getlist("x-forwarded-for"), runtime.settings.trusted_proxies
    )
    try:
        return await run_in_threadpool(
            authorize_reader,
            runtime,
            credential,
            ip=ip,
            user_agent=websocket.headers.get("user-agent"),
        )
    except (UnauthenticatedError, ForbiddenError) as refused:
        exc: AgentOSError = refused
        if isinstance(refused, ReadForbiddenError):
            exc = await run_in_threadpool(denials.audit_read, runtime, refused.actor, "ws", refused)
        code = CLOSE_UNAUTHENTICATED if isinstance(exc, UnauthenticatedError) else CLOSE_FORBIDDEN
        await websocket.accept(subprotocol=subprotocol)
        await websocket.close(code=code, reason=f"{exc.code}: {exc.message}"[:120])
        return None


async def _snapshot(runtime: Runtime) -> bytes:
    document = await run_in_threadpool(admin_data.get_document, runtime)
    meta = orjson.dumps(document.meta().model_dump())
    return b'{"type":"snapshot","cache":' + meta + b',"data":' + document.body + b"}"


async def _send_events(websocket: WebSocket, queue: asyncio.Queue[bytes]) -> None:
    while True:
        try:
            message = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
        except TimeoutError:
            message = orjson.dumps({"type": "ping", "ts": time.time()})
        await websocket.send_text(message.decode())


async def _answer(websocket: WebSocket, runtime: Runtime, raw: str) -> None:
    try:
        request = orjson.loads(raw)
        kind = request.get("type") if isinstance(request, dict) else None
    except orjson.JSONDecodeError:
        kind = None
    if kind == "snapshot":
        try:
            reply = await _snapshot(runtime)
        except AgentOSError as exc:
            reply = orjson.dumps({"type": "error", "error": exc.message, "error_code": exc.code})
    elif kind == "ping":
        reply = orjson.dumps({"type": "pong", "ts": time.time()})
    elif kind == "pong":
        return
    else:
        reply = orjson.dumps(
            {"type": "error", "error": 'unknown message; send {"type": "snapshot"} or ping'}
        )
    await websocket.send_text(reply.decode())


@router.websocket("/ws", name="live_updates")
async def live_updates(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    credential, subprotocol = offered_token(websocket)
    actor = await _authorize(websocket, runtime, credential, subprotocol)
    if actor is None:
        return
    hub = get_hub(websocket.app)
    queue = hub.register()
    await websocket.accept(subprotocol=subprotocol)
    hello = {"type": "hello", "actor": actor.name, "role": actor.role, "heartbeat_s": HEARTBEAT_S}
    await websocket.send_text(orjson.dumps(hello).decode())
    sender = asyncio.create_task(_send_events(websocket, queue))
    try:
        while True:
            await _answer(websocket, runtime, await websocket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        hub.unregister(queue)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
