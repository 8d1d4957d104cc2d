"""The admin read model (SSOT): the whole document, the dashboard, and the cache's health.

The hit path is built for speed: the cached document is already JSON bytes, so the
envelope is assembled around them (no parse, no re-serialisation) and returned as a plain
Response. Its cost besides that: one JWT verification, a user lookup cached for 5 s, the
IP allow-list (cached) and the admin-read rate limit (local permits leased in batches),
all on the event loop once the token has been seen (see `admin_reader`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from agentos.schemas.admin import DashboardEnvelope, SsotEnvelope, SsotHealth
from agentos.schemas.common import SuccessEnvelope
from agentos.server.deps import bearer_or_none, client_ip, get_trace_id
from agentos.server.edge import FastHandler
from agentos.server.errors import ERROR_RESPONSES
from agentos.server.ratelimit import limit_actor
from agentos.server.responses import elapsed_ms, ok
from agentos.services import admin_data
from agentos.services.actions import denials
from agentos.services.admin_data import CachedDocument
from agentos.services.context import Actor
from agentos.services.security.admin_access import (
    ReadForbiddenError,
    authorize_reader,
    cached_actor,
    check_reader,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/admin/ssot", tags=["Admin SSOT"])
# Private to the reader; always revalidated (the document changes with any write).
CACHE_CONTROL = "private, no-cache"
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    status: ERROR_RESPONSES[status] for status in (401, 403, 429)
}


def _reader(request: Request) -> Actor:
    runtime = request.app.state.runtime
    try:
        actor = authorize_reader(
            runtime,
            bearer_or_none(request.headers.get("authorization")),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            trace_id=get_trace_id(request),
        )
    except ReadForbiddenError as denied:
        raise denials.audit_read(runtime, denied.actor, "ssot", denied) from None
    limit_actor(request, actor, "admin_read")
    return actor


def _cached_reader(request: Request) -> Actor | None:
    """The caller if its token and user are cached (no I/O), else None."""
    headers = request.headers
    credential = bearer_or_none(headers.get("authorization"))
    if not credential:
        return None
    return cached_actor(
        request.app.state.runtime,
        credential,
        ip=client_ip(request),
        user_agent=headers.get("user-agent"),
        trace_id=get_trace_id(request),
    )


async def admin_reader(request: Request) -> Actor:
    """Admin-read role from an allowed IP, within the admin-read rate tier.

    With the token and user cached (the steady state of a polling client) the checks run
    on the event loop: no thread hop. What may still do I/O there is bounded and short:
    the allow-list table read once per 5 s and a rate-limit lease refill (one Redis round
    trip per batch). Anything else (first sight of a token, API keys) goes to a thread.
    """
    runtime = request.app.state.runtime
    actor = _cached_reader(request)
    if actor is None:
        return await run_in_threadpool(_reader, request)
    try:
        check_reader(runtime, actor)
    except ReadForbiddenError as denied:
        raise await run_in_threadpool(
            denials.audit_read, runtime, denied.actor, "ssot", denied
        ) from None
    limit_actor(request, actor, "admin_read")
    return actor


AdminReaderDep = Annotated[Actor, Depends(admin_reader)]


async def current_document(request: Request) -> CachedDocument:
    """The local copy without leaving the event loop when current; else the cache path."""
    store = admin_data.store_for(request.app.state.runtime)
    hit = store.local_hit()
    return hit if hit is not None else await run_in_threadpool(store.get)


class _Envelope(NamedTuple):
    """A document's success envelope, cut where the per-answer values go, and its fixed
    headers: made once per document, section and cache verdict."""

    head: bytes  # {"success":true,"data":<data>,"cache":{"source":..,"age_s":
    tail: bytes  # ,"built_at":..,"build_ms":..,"size_bytes":..},"timestamp":
    headers: tuple[tuple[bytes, bytes], ...]
    not_modified: tuple[tuple[bytes, bytes], ...]


def _envelope(document: CachedDocument, section: str | None, etag: str) -> _Envelope:
    meta = document.meta_fields()
    data = document.body if section is None else document.section(section)
    validators = ((b"etag", etag.encode()), (b"cache-control", CACHE_CONTROL.encode()))
    verdict = (b"x-cache", meta["source"].upper().encode())
    return _Envelope(
        head=b"".join(
            (
                b'{"success":true,"data":',
                data,
                b',"cache":{"source":',
                orjson.dumps(meta["source"]),
                b',"age_s":',
            )
        ),
        tail=b"".join(
            (
                b',"built_at":',
                orjson.dumps(meta["built_at"]),
                b',"build_ms":',
                orjson.dumps(meta["build_ms"]),
                b',"size_bytes":',
                orjson.dumps(meta["size_bytes"]),
                b'},"timestamp":',
            )
        ),
        headers=(
            (b"content-type", b"application/json"),
            *validators,
            verdict,
            (b"x-cache-built-at", meta["built_at"].isoformat().encode()),
        ),
        not_modified=(*validators, verdict),
    )


class _ReadyResponse(Response):
    """An answer whose headers are ready as bytes: Starlette's constructor would encode
    and check them again on every hit."""

    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code, self.raw_headers, self.body = status_code, headers, body
        self.background = None


def document_response(
    request: Request, document: CachedDocument, section: str | None = None
) -> Response:
    """The envelope around ready JSON bytes, with the cache verdict in headers and body. A
    poller that sends back the ETag it has gets 304 with no body while nothing changed."""
    etag = document.etag(section)
    envelope = document.derived(
        f"envelope:{document.source}:{section or ''}",
        lambda: _envelope(document, section, etag),
    )
    if etag in request.headers.get("if-none-match", ""):
        return _ReadyResponse(304, list(envelope.not_modified), b"")
    age = round(document.age_s(), 3)
    body = b"".join(
        (
            envelope.head,
            orjson.dumps(age),
            envelope.tail,
            orjson.dumps(datetime.now(UTC)),
            b',"response_time_ms":',
            orjson.dumps(elapsed_ms(request)),
            b"}",
        )
    )
    headers = [
        *envelope.headers,
        (b"content-length", str(len(body)).encode()),
        (b"x-cache-age", f"{age:.3f}".encode()),
    ]
    return _ReadyResponse(200, headers, body)


@router.get(
    "",
    summary="The whole admin document (cache-first; X-Cache says hit, miss or direct)",
    response_model=SsotEnvelope,
    responses=READ_ERRORS,
)
async def get_ssot(request: Request, _actor: AdminReaderDep) -> Response:
    document = await current_document(request)
    return document_response(request, document)


@router.get(
    "/dashboard",
    summary="The dashboard section only (same cache as the whole document)",
    response_model=DashboardEnvelope,
    responses=READ_ERRORS,
)
async def get_ssot_dashboard(request: Request, _actor: AdminReaderDep) -> Response:
    document = await current_document(request)
    return document_response(request, document, "dashboard")


@router.get(
    "/health",
    summary="Cache state, document age, last build, warmer, hit/miss counts",
    response_model=SuccessEnvelope[SsotHealth],
    responses=READ_ERRORS,
)
def get_ssot_health(request: Request, _actor: AdminReaderDep) -> dict[str, object]:
    return ok(request, admin_data.health(request.app.state.runtime))


def _fast_read(section: str | None) -> FastHandler:
    """The cache hit of a document route, answered at the edge (server/edge.py): the same
    checks as `admin_reader`, with everything else (first sight of a token, a denial to
    audit, a stale or missing local copy) left to the full route. Checks that have no side
    effect come first, so a request handed on is never counted twice by the rate limit."""

    async def read(request: Request) -> Response | None:
        runtime = request.app.state.runtime
        document = admin_data.store_for(runtime).local_hit()
        if document is None:
            return None
        actor = _cached_reader(request)
        if actor is None:
            return None
        try:
            check_reader(runtime, actor)
        except ReadForbiddenError:
            return None
        limit_actor(request, actor, "admin_read")
        return document_response(request, document, section)

    return read


FAST_ROUTES: dict[tuple[str, str], FastHandler] = {
    ("GET", router.prefix): _fast_read(None),
    ("GET", f"{router.prefix}/dashboard"): _fast_read("dashboard"),
}
