"""The only place that maps core errors to HTTP: status codes and the error envelope."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentos.errors import EXIT_CODE_BY_KIND, AgentOSError, RateLimitedError
from agentos.errors.catalog import CATALOG
from agentos.services import outages

logger = logging.getLogger(__name__)

HTTP_STATUS_BY_KIND: dict[str, int] = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "unauthenticated": 401,
    "forbidden": 403,
    "rate_limited": 429,
    "unavailable": 503,
    "internal": 500,
}
CODE_BY_HTTP_STATUS: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}
# Error documentation for OpenAPI `responses=`.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": code.replace("_", " ").capitalize(),
        "content": {
            "application/json": {
                "example": {
                    "success": False,
                    "error": "...",
                    "error_code": code,
                    "timestamp": "2026-01-01T00:00:00Z",
                }
            }
        },
    }
    for status, code in CODE_BY_HTTP_STATUS.items()
    if status in (401, 403, 404, 409, 422, 429)
}


# Answers any operation may give when the deployment itself is in trouble; listed once,
# in the document (`x-global-error-codes`), not under every operation.
GLOBAL_KINDS = ("internal",)
GLOBAL_UNAVAILABLE = (
    "SERVICE_UNAVAILABLE",
    "DATABASE_UNAVAILABLE",
    "DATABASE_NOT_MIGRATED",
    "REDIS_UNAVAILABLE",
    "CACHE_UNAVAILABLE",
    "BROKER_UNAVAILABLE",
    "BREAKER_UNAVAILABLE",
    "IDEMPOTENCY_UNAVAILABLE",
    "BUS_UNAVAILABLE",
    "RATELIMIT_UNAVAILABLE",
    "INSUFFICIENT_STORAGE",
)


def status_of(code: str) -> int | None:
    info = CATALOG.get(code)
    if info is None or info.kind is None:
        return None
    return info.status or HTTP_STATUS_BY_KIND[info.kind]


def global_codes() -> list[str]:
    return sorted(
        code
        for code, info in CATALOG.items()
        if info.where == "api" and (info.kind in GLOBAL_KINDS or code in GLOBAL_UNAVAILABLE)
    )


def catalog_rows() -> list[dict[str, Any]]:
    """The error catalog: code, kind, HTTP status, CLI exit code, where, meaning."""
    rows = []
    for code, info in sorted(CATALOG.items()):
        kinds = [info.kind, *info.also] if info.kind else []
        rows.append(
            {
                "code": code,
                "kind": info.kind,
                "http_status": [info.status or HTTP_STATUS_BY_KIND[kind] for kind in kinds],
                "exit_code": [EXIT_CODE_BY_KIND[kind] for kind in kinds],
                "where": info.where,
                "meaning": info.meaning,
            }
        )
    return rows


def error_body(
    request: Request, *, message: str, code: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": False,
        "error": message,
        "error_code": code,
        "timestamp": datetime.now(UTC).isoformat(),
        "trace_id": getattr(request.state, "trace_id", None),
    }
    if details:
        body["details"] = jsonable_encoder(details)
    return body


def rate_limit_headers(error: RateLimitedError) -> dict[str, str]:
    retry = max(1, math.ceil(error.retry_after_s))
    headers = {"Retry-After": str(retry)}
    if error.limit is not None and error.window_s is not None:
        headers["RateLimit-Policy"] = f"{error.limit};w={error.window_s}"
        headers["RateLimit"] = f"limit={error.limit}, remaining=0, reset={retry}"
    return headers


def agentos_error_response(request: Request, exc: AgentOSError) -> JSONResponse:
    status = HTTP_STATUS_BY_KIND[exc.kind]
    headers = rate_limit_headers(exc) if isinstance(exc, RateLimitedError) else None
    if headers is None and isinstance(exc.details.get("retry_after_s"), int | float):
        headers = {"Retry-After": str(max(1, math.ceil(exc.details["retry_after_s"])))}
    if status >= 500 and exc.code != "MAINTENANCE":  # maintenance answers are expected
        logger.warning("request failed: %s (%s)", exc.message, exc.code)
    body = error_body(request, message=exc.message, code=exc.code, details=exc.details)
    return JSONResponse(body, status_code=status, headers=headers)


async def _agentos_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AgentOSError)
    return agentos_error_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    first = fields[0] if fields else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"] if part != "body")
    message = (
        f"Invalid request: {where}: {first['msg']}" if where else f"Invalid request: {first['msg']}"
    )
    body = error_body(request, message=message, code="VALIDATION_ERROR", details={"errors": fields})
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_HTTP_STATUS.get(exc.status_code, "HTTP_ERROR")
    body = error_body(request, message=str(exc.detail), code=code)
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def unexpected_error_response(request: Request, exc: BaseException) -> JSONResponse:
    """503 when a dependency stopped answering (with its code), else 500; never a trace."""
    outage = outages.as_unavailable(exc)
    if outage is not None:
        logger.warning("%s %s: %s", request.method, request.url.path, outage.message)
        body = error_body(request, message=outage.message, code=outage.code)
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = error_body(request, message="Internal server error", code="INTERNAL_ERROR")
    return JSONResponse(body, status_code=500)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error_response(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AgentOSError, _agentos_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
