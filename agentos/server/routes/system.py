"""Public system endpoints: `/` and `/health`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agentos import __version__
from agentos.schemas.common import SuccessEnvelope
from agentos.schemas.health import HealthReport
from agentos.server.deps import BackendsDep, SettingsDep
from agentos.server.errors import ERROR_RESPONSES
from agentos.server.ratelimit import PublicRateLimit
from agentos.server.responses import ok
from agentos.services import health

# Public tier (10/min per IP by default); the 429 is documented on every operation.
router = APIRouter(
    tags=["System"], dependencies=[PublicRateLimit], responses={429: ERROR_RESPONSES[429]}
)


@router.get(
    "/", summary="Service identity and links", response_model=SuccessEnvelope[dict[str, Any]]
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
    summary="Database, cache and broker status with latency per part",
    response_model=SuccessEnvelope[HealthReport],
    responses={
        503: {"description": "A required part is down", "model": SuccessEnvelope[HealthReport]}
    },
)
async def get_health(
    request: Request, settings: SettingsDep, backends: BackendsDep
) -> JSONResponse:
    engine = request.app.state.engine
    report = await run_in_threadpool(
        health.check, settings=settings, engine=engine, backends=backends
    )
    body = ok(request, report.model_dump(mode="json"))
    body["timestamp"] = body["timestamp"].isoformat()
    status = 503 if report.status == "unhealthy" else 200
    return JSONResponse(body, status_code=status)
