"""Public system endpoints: `/` and `/health`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agentos import __version__
from agentos.errors import AgentOSError
from agentos.schemas.common import SuccessEnvelope
from agentos.schemas.health import HealthReport, UnhealthyEnvelope
from agentos.server.deps import BackendsDep, SettingsDep, bearer_or_none, client_ip
from agentos.server.ratelimit import PublicRateLimit
from agentos.server.responses import ok
from agentos.server.routes._docs import TIMESTAMP_EXAMPLE, errors
from agentos.services import health, maintenance
from agentos.services.backends.base import Backends
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access
from agentos.settings import Settings

# Public tier (10/min per IP by default); the 429 is documented on every operation.
router = APIRouter(tags=["System"], dependencies=[PublicRateLimit], responses=errors(429))

ROOT_EXAMPLE = {
    "name": "AgentOS",
    "version": "0.1.0",
    "deployment": "embedded",
    "docs": "/docs",
    "health": "/health",
}
HEALTH_EXAMPLE = {
    "status": "healthy",
    "version": "0.1.0",
    "deployment": "distributed",
    "parts": {
        "database": {"status": "up", "required": True, "latency_ms": 1.2, "backend": "postgresql"},
        "cache": {"status": "up", "required": False, "latency_ms": 0.4, "backend": "redis"},
    },
}


def _example(data: dict[str, Any]) -> dict[str, Any]:
    body = {"success": True, "data": data, "timestamp": TIMESTAMP_EXAMPLE, "response_time_ms": 0.8}
    return {"application/json": {"example": body}}


@router.get(
    "/",
    summary="Service identity and links",
    response_model=SuccessEnvelope[dict[str, Any]],
    responses={200: {"description": "Success", "content": _example(ROOT_EXAMPLE)}},
)
async def root(request: Request, settings: SettingsDep) -> dict[str, Any]:
    return ok(
        request,
        {
            "name": "AgentOS",
            "version": __version__,
            "deployment": "embedded" if settings.is_embedded else "distributed",
            "docs": "/docs",
            "health": "/health",
        },
    )


@router.get(
    "/health",
    summary="Database, cache and broker status with latency per part, and maintenance mode",
    description="200 while every required part is up (degraded when an optional one is "
    "down); 503 when a required part is down (`success: false`, `error_code: UNHEALTHY`, "
    "the report in `data`). Anyone sees each part's state; latency, backends and error "
    "details only with an admin-read token from an allowed address.",
    response_model=SuccessEnvelope[HealthReport],
    responses={
        200: {"description": "Healthy or degraded", "content": _example(HEALTH_EXAMPLE)},
        503: {"description": "A required part is down", "model": UnhealthyEnvelope},
    },
)
async def get_health(
    request: Request, settings: SettingsDep, backends: BackendsDep
) -> JSONResponse:
    runtime = request.app.state.runtime
    report = _recent_report(request)
    if report is None:
        report = await run_in_threadpool(_report, runtime, settings, backends)
    shown = report if await _is_admin_reader(request) else report.public()
    body = ok(request, shown.model_dump(mode="json"))
    body["timestamp"] = body["timestamp"].isoformat()
    if report.status != "unhealthy":
        return JSONResponse(body, status_code=200)
    down = sorted(
        name for name, part in report.parts.items() if part.required and part.status == "down"
    )
    body.update(success=False, error=f"unhealthy: {', '.join(down)} down", error_code="UNHEALTHY")
    return JSONResponse(body, status_code=503)


def _recent_report(request: Request) -> HealthReport | None:
    """The health monitor's newest report and the maintenance flag, if both are recent:
    answered on the event loop (the server's lifespan starts the monitor)."""
    monitor: health.HealthMonitor | None = getattr(request.app.state, "health_monitor", None)
    report = monitor.latest() if monitor is not None else None
    state = maintenance.known_fresh(request.app.state.runtime)
    if report is None or state is None:
        return None
    report.maintenance = state
    return report


def _report(runtime: Runtime, settings: Settings, backends: Backends) -> HealthReport:
    """The probes and the maintenance state in one trip to a worker thread."""
    report = health.check(settings=settings, engine=runtime.engine, backends=backends)
    report.maintenance = maintenance.current(runtime)
    return report


async def _is_admin_reader(request: Request) -> bool:
    """Details (latency, backends, errors) only for an admin reader from an allowed IP."""
    credential = bearer_or_none(request.headers.get("authorization"))
    if credential is None:
        return False
    runtime = request.app.state.runtime
    actor = admin_access.cached_actor(runtime, credential, ip=client_ip(request))
    if actor is not None:  # token and user cached: no I/O, no thread
        try:
            admin_access.check_reader(runtime, actor)
        except AgentOSError:
            return False
        return True
    try:
        await run_in_threadpool(
            admin_access.authorize_reader,
            request.app.state.runtime,
            credential,
            ip=client_ip(request),
        )
    except AgentOSError:
        return False
    return True
