"""The FastAPI app factory. Settings are passed in or read when the app is built."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from agentos import __version__
from agentos.db.migrate import ensure_schema
from agentos.db.session import get_engine, session_factory
from agentos.server.errors import install_error_handlers
from agentos.server.live import start_live
from agentos.server.metrics import MetricsMiddleware, MetricsRecorder
from agentos.server.middleware import (
    BodyLimitMiddleware,
    RateLimitHeadersMiddleware,
    TraceMiddleware,
)
from agentos.server.ratelimit import UserRateLimit
from agentos.server.routes import admin_actions, admin_ssot, auth, system, uploads, ws
from agentos.server.routes import agents as agents_routes
from agentos.server.routes import analytics as analytics_routes
from agentos.server.routes import clips as clips_routes
from agentos.server.routes import jobs as jobs_routes
from agentos.server.routes import queue as queue_routes
from agentos.services.backends import get_backends
from agentos.services.pipeline.runner import start_for_server
from agentos.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Route modules register here; each exposes `router`. Order is the order in /docs.
ROUTERS: list[APIRouter] = [
    system.router,
    auth.router,
    admin_ssot.router,
    admin_actions.router,
    ws.router,
    uploads.chunk_router,
]
# The seed's user API, counted in the user rate-limit tier (100/min per user).
USER_ROUTERS: list[APIRouter] = [
    jobs_routes.router,
    agents_routes.router,
    queue_routes.router,
    clips_routes.router,
    analytics_routes.router,
    uploads.router,
]
# Background services started with the app (embedded workers, cache warmer, bus relay).
STARTUP_HOOKS: list[Callable[[FastAPI], Callable[[], None] | None]] = [
    start_live,
    start_for_server,
]
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Trace-Id",
    "X-Idempotency-Key",
    "Idempotency-Key",
]
CORS_EXPOSE_HEADERS = [
    "X-Trace-Id",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "Idempotent-Replayed",
]

DESCRIPTION = """
The AgentOS control plane. Every response uses the envelope
`{"success", "data", "timestamp", "response_time_ms"}`; errors use
`{"success": false, "error", "error_code", "timestamp"}`. Send `X-Trace-Id` to correlate.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.ensure_home()
    # A fresh checkout (or a database behind the code) is migrated before anything uses it.
    ensure_schema(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stoppers = [hook(app) for hook in STARTUP_HOOKS]
        try:
            yield
        finally:
            for stop in reversed(stoppers):
                if stop is not None:
                    stop()

    app = FastAPI(
        title="AgentOS",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings)
    app.state.session_factory = session_factory(settings)
    app.state.backends = get_backends(settings)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    for router in USER_ROUTERS:
        app.include_router(router, dependencies=[UserRateLimit])
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(TraceMiddleware)
    # Per-route request figures for /api/analytics/metrics (outside the limits: 413/429 count).
    app.state.metrics = MetricsRecorder(app.state.backends.counters)
    app.add_middleware(MetricsMiddleware, recorder=app.state.metrics)
    if settings.cors_origins:
        # Added last, so outermost: even 413 and 429 answers carry the CORS headers.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
        )
    return app
