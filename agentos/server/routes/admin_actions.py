"""Admin actions: one endpoint for every action of the registry, and its status page.

The caller is authenticated through `admin_access.authenticate`, the admin paths' shared
cache of verified access tokens and user rows (at most `admin_access.USER_CACHE_S`
seconds, never past the token's expiry): a disabled user, a changed role or revoked
tokens take effect here within that many seconds, at once in the process that made the
change when the action calls `admin_access.forget_user` (the pipeline does for every
`users:*` action). API keys are checked against the database on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from agentos.errors import AgentOSError, RateLimitedError
from agentos.schemas.actions import ActionResponse, ActionStatusRead
from agentos.schemas.common import SuccessEnvelope
from agentos.server.deps import (
    RuntimeDep,
    SessionDep,
    bearer_credential,
    client_ip,
    get_trace_id,
)
from agentos.server.errors import (
    ERROR_RESPONSES,
    HTTP_STATUS_BY_KIND,
    error_body,
    rate_limit_headers,
)
from agentos.server.ratelimit import limit_actor
from agentos.server.responses import ok
from agentos.services.actions import pipeline, registry, status
from agentos.services.context import Actor
from agentos.services.security import admin_access

REPLAY_HEADER = "Idempotent-Replayed"
ActionBody = registry.request_union()


class ActionRoute(APIRoute):
    """Unknown action names answer 400 UNKNOWN_ACTION; replayed errors carry the replay header."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                unknown = [err for err in exc.errors() if err.get("type") == "union_tag_invalid"]
                if not unknown:
                    raise
                tag = (unknown[0].get("ctx") or {}).get("tag")
                body = error_body(
                    request,
                    message=f"unknown action {tag!r}; GET /api/admin/action/status lists them",
                    code="UNKNOWN_ACTION",
                    details={"action": tag},
                )
                return JSONResponse(body, status_code=400)
            except AgentOSError as exc:
                if not getattr(exc, "replayed", False):
                    raise
                return _replayed_error(request, exc)

        return route


def _replayed_error(request: Request, exc: AgentOSError) -> JSONResponse:
    headers = rate_limit_headers(exc) if isinstance(exc, RateLimitedError) else {}
    headers[REPLAY_HEADER] = "true"
    body = error_body(request, message=exc.message, code=exc.code, details=exc.details)
    return JSONResponse(body, status_code=HTTP_STATUS_BY_KIND[exc.kind], headers=headers)


async def action_actor(request: Request, runtime: RuntimeDep) -> Actor:
    """The authenticated caller, token and user row cached (see the module docstring).

    On the event loop when both are cached (no I/O, no thread hop), else in the threadpool.
    """
    credential = bearer_credential(request)
    actor = admin_access.cached_actor(runtime, credential)
    if actor is None:
        actor = await run_in_threadpool(admin_access.authenticate, runtime, credential)
    return replace(
        actor,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        trace_id=get_trace_id(request),
    )


ActionActorDep = Annotated[Actor, Depends(action_actor)]


async def action_caller(request: Request, actor: ActionActorDep) -> Actor:
    """An admin running an action, within the admin-action tier (50/min per admin)."""
    limit_actor(request, actor, "admin_action")
    return actor


async def status_reader(request: Request, actor: ActionActorDep) -> Actor:
    """An admin reading the action status page, within the admin-read tier (500/min)."""
    limit_actor(request, actor, "admin_read")
    return actor


ActionCallerDep = Annotated[Actor, Depends(action_caller)]
StatusReaderDep = Annotated[Actor, Depends(status_reader)]
router = APIRouter(prefix="/api/admin", tags=["Admin Actions"], route_class=ActionRoute)
RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"description": "Unknown action (UNKNOWN_ACTION)"},
    503: {"description": "A circuit breaker is open (CIRCUIT_OPEN) or a dependency is down"},
}
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="Replay-safe retries (IETF draft)")
]
XIdempotencyKey = Annotated[
    str | None, Header(alias="X-Idempotency-Key", description="Same as Idempotency-Key")
]


@router.post(
    "/action",
    summary="Run an admin action (audited, rate-limited, idempotent)",
    description='Body: `{"action": NAME, "payload": {...}}`. Dangerous actions need '
    "`confirm: true` (or `dry_run: true`). A retry with the same Idempotency-Key answers "
    "the stored response with `Idempotent-Replayed: true`.",
    response_model=SuccessEnvelope[ActionResponse],
    responses=RESPONSES,
)
def run_action(
    request: Request,
    response: Response,
    body: ActionBody,  # type: ignore[valid-type]
    session: SessionDep,
    actor: ActionCallerDep,
    idempotency_key: IdempotencyKey = None,
    x_idempotency_key: XIdempotencyKey = None,
) -> dict[str, Any]:
    result = pipeline.execute(
        session,
        actor=actor,
        action=body.action,  # type: ignore[attr-defined]
        payload=body.payload,  # type: ignore[attr-defined]
        idempotency_key=idempotency_key or x_idempotency_key,
    )
    if result.replayed:
        response.headers[REPLAY_HEADER] = "true"
    return ok(request, result)


@router.get(
    "/action/status",
    summary="Action catalog, recent executions, per-action counts and latency, breakers",
    response_model=SuccessEnvelope[ActionStatusRead],
    responses=ERROR_RESPONSES,
)
def action_status(
    request: Request,
    session: SessionDep,
    actor: StatusReaderDep,
    recent: Annotated[int, Query(ge=1, le=200)] = 20,
    window_hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
) -> dict[str, Any]:
    data = status.status(session, actor=actor, recent=recent, window_hours=window_hours)
    return ok(request, data)
