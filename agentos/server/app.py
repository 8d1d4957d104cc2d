"""The FastAPI app factory: the app is built on a runtime (passed in, or built from the
settings and closed with the app) and, embedded, runs the in-process runner unless told
which runner to start (`agentos serve` passes the Celery one when distributed)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import Scope

from agentos import __version__
from agentos.db.migrate import ensure_schema
from agentos.server import openapi
from agentos.server.deps import MaintenanceGuard
from agentos.server.edge import Edge
from agentos.server.errors import install_error_handlers
from agentos.server.live import start_live
from agentos.server.metrics import MetricsRecorder
from agentos.server.middleware import BodyLimits
from agentos.server.ratelimit import UserRateLimit
from agentos.server.routes import (
    admin_actions,
    admin_ssot,
    auth,
    console,
    prometheus,
    system,
    uploads,
    ws,
)
from agentos.server.routes import agents as agents_routes
from agentos.server.routes import analytics as analytics_routes
from agentos.server.routes import clips as clips_routes
from agentos.server.routes import jobs as jobs_routes
from agentos.server.routes import queue as queue_routes
from agentos.services.logs import setup as logs_setup
from agentos.services.pipeline.embedded_runner import EmbeddedRunner
from agentos.services.pipeline.runner import Runner, RunnerFactory
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access
from agentos.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Route modules register here; each exposes `router`. Order is the order in /docs.
ROUTERS: list[APIRouter] = [
    system.router,
    auth.router,
    admin_ssot.router,
    admin_actions.router,
    ws.router,
    prometheus.router,
]
# Users' writes (jobs, uploads and their chunks) answer 503 while maintenance mode is on;
# admin-grade writes (agents, the action endpoint) keep working.
MAINTAINED_ROUTERS: tuple[APIRouter, ...] = (jobs_routes.router, uploads.router)
# The seed's user API, counted in the user rate-limit tier (100/min per user).
USER_ROUTERS: list[APIRouter] = [
    jobs_routes.router,
    agents_routes.router,
    queue_routes.router,
    clips_routes.router,
    analytics_routes.router,
    uploads.router,
]
# Background services started with the app (cache warmer, bus relay); the runner follows.
STARTUP_HOOKS: list[Callable[[FastAPI], Callable[[], None] | None]] = [start_live]
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


# Routes that take a body without a token: small bodies only (anyone may send one).
ANONYMOUS_BODY_PATHS = frozenset({"/api/auth/login", "/api/auth/refresh"})
ACTION_BODY_BYTES = 1024 * 1024
CHUNK_OVERHEAD_BYTES = 4096


def body_limits(settings: Settings) -> BodyLimits:
    return BodyLimits(
        by_path=(
            ("/api/upload/chunk", settings.upload_chunk_max_bytes + CHUNK_OVERHEAD_BYTES),
            ("/api/admin/action", ACTION_BODY_BYTES),
        ),
        anonymous_paths=ANONYMOUS_BODY_PATHS,
        ceiling=settings.max_request_bytes,
    )


def _check_credential(scope: Scope, credential: str) -> None:
    admin_access.verify_credential(scope["app"].state.runtime, credential)


def _document_action_bodies(app: FastAPI) -> None:
    """Add the per-action request models to the OpenAPI components (the action route takes
    its body as sent, so FastAPI does not collect them itself)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(
            admin_actions.ACTION_BODY_COMPONENTS
        )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def default_runner(runtime: Runtime) -> Runner | None:
    """Embedded: the in-process pools (unless `embedded_workers` is off). Distributed: none
    here; the process that starts the server chooses (`agentos serve` sends to Celery)."""
    if runtime.settings.is_embedded and runtime.settings.embedded_workers:
        return EmbeddedRunner(runtime)
    return None


def create_app(
    runtime: Runtime | Settings | None = None,
    *,
    runner: RunnerFactory | None = None,
    log_process: str | None = None,
) -> FastAPI:
    """`log_process`: configure this process's logs as that process ("server"; the app
    of a test leaves logging alone)."""
    owned = not isinstance(runtime, Runtime)
    if not isinstance(runtime, Runtime):
        runtime = Runtime(runtime or get_settings())
    settings = runtime.settings
    settings.ensure_home()
    # A fresh checkout (or a database behind the code) is migrated before anything uses it.
    ensure_schema(runtime.engine)
    choose_runner = runner or default_runner

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if log_process is not None:
            logs_setup.configure(runtime, process=log_process)
        stoppers = [hook(app) for hook in STARTUP_HOOKS]
        started = choose_runner(runtime)
        if started is not None:
            started.start()
        try:
            yield
        finally:
            if started is not None:
                started.stop()
            for stop in reversed(stoppers):
                if stop is not None:
                    stop()
            if owned:
                runtime.close()

    app = FastAPI(
        title="AgentOS",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: console.install, from the package's own files
        redoc_url=None,
        # Our figures are Prometheus (/metrics) and our trace id; FastAPI's OpenTelemetry
        # hooks would otherwise look up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.backends = runtime.backends
    install_error_handlers(app)
    _document_action_bodies(app)
    openapi.install(app)
    for router in ROUTERS:
        app.include_router(router)
    console.install(app)
    app.include_router(uploads.chunk_router, dependencies=[MaintenanceGuard])
    for router in USER_ROUTERS:
        maintained = router in MAINTAINED_ROUTERS
        guards = [UserRateLimit, MaintenanceGuard] if maintained else [UserRateLimit]
        app.include_router(router, dependencies=guards)
    # Per-route request figures for /api/analytics/metrics (413/429 and 405 count too).
    app.state.metrics = MetricsRecorder(app.state.backends.counters)
    # One pass: version, guard, 405 for literal paths, fast routes, headers, figures.
    app.add_middleware(
        Edge,
        limits=body_limits(settings),
        check_credential=_check_credential,
        routes=lambda: app.routes,
        recorder=app.state.metrics,
        fast_routes={**admin_ssot.FAST_ROUTES, **admin_actions.FAST_ROUTES},
    )
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
