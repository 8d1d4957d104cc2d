"""Admin actions: one endpoint for every action of the registry, and its status page.

The caller is authenticated through `admin_access.authenticate`, the admin paths' shared
cache of verified access tokens and user rows (at most `admin_access.USER_CACHE_S`
seconds, never past the token's expiry): a disabled user, a changed role or revoked
tokens take effect here within that many seconds, at once in the process that made the
change when the action calls `admin_access.forget_user` (the pipeline does for every
`users:*` action). API keys are checked against the database on every request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from dataclasses import replace
from enum import Enum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from agentos.errors import AgentOSError, InvalidError, RateLimitedError
from agentos.schemas.actions import ActionResponse, ActionStatusRead
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.common import SuccessEnvelope
from agentos.schemas.figures import FiguresPart, LiveFigures
from agentos.server import offload
from agentos.server.deps import (
    ReadSessionDep,
    RuntimeDep,
    bearer_credential,
    bearer_or_none,
    client_ip,
    get_trace_id,
    unit_of_work,
)
from agentos.server.edge import FastHandler
from agentos.server.errors import (
    ERROR_RESPONSES,
    HTTP_STATUS_BY_KIND,
    error_body,
    rate_limit_headers,
)
from agentos.server.ratelimit import limit_actor
from agentos.server.responses import ok
from agentos.server.routes._actions import REPLAY_HEADER
from agentos.services.actions import figures_read, managers_read, pipeline, registry, status
from agentos.services.backends import idempotency
from agentos.services.context import Actor, Source
from agentos.services.outbox import Callback
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access

UNKNOWN_ACTION = "UNKNOWN_ACTION"
REQUEST_FIELDS = frozenset({"action", "payload"})
# The web console (/admin) names itself, so its actions are audited with source `web`.
SOURCE_HEADER = "x-agentos-source"
WEB_SOURCE: Source = "web"
SCHEMA_REF = "#/components/schemas/{model}"


def action_body_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request body as documented (one model per action, discriminated on `action`)
    and the component schemas it refers to; the route itself takes the body as sent."""
    schema = TypeAdapter(registry.request_union()).json_schema(ref_template=SCHEMA_REF)
    components = schema.pop("$defs", {})
    body = {"required": True, "content": {"application/json": {"schema": schema}}}
    return {"requestBody": body}, components


ACTION_BODY_OPENAPI, ACTION_BODY_COMPONENTS = action_body_schemas()


class ActionRoute(APIRoute):
    """Unknown action names answer 400 UNKNOWN_ACTION; replayed errors carry the replay header."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except AgentOSError as exc:
                return _own_error_response(request, exc)

        return route


def _own_error_response(request: Request, exc: AgentOSError) -> Response:
    """Unknown actions and replayed errors are answered here; any other error is raised
    for the app's error handlers."""
    replayed = getattr(exc, "replayed", False)
    if not replayed and exc.code != UNKNOWN_ACTION:
        raise exc
    return _error_response(request, exc, replayed=replayed)


def _error_response(request: Request, exc: AgentOSError, *, replayed: bool) -> JSONResponse:
    headers = rate_limit_headers(exc) if isinstance(exc, RateLimitedError) else {}
    if replayed:
        headers[REPLAY_HEADER] = "true"
    status = 400 if exc.code == UNKNOWN_ACTION else HTTP_STATUS_BY_KIND[exc.kind]
    body = error_body(request, message=exc.message, code=exc.code, details=exc.details)
    return JSONResponse(body, status_code=status, headers=headers)


async def action_request(request: Request) -> tuple[str, dict[str, Any]]:
    """`{"action": NAME, "payload": {...}}` as sent: the pipeline validates it against the
    action's model and audits a refusal, so no attempt goes unrecorded."""
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return "(not an object)", {}
    unknown = sorted(set(body) - REQUEST_FIELDS)
    if unknown:  # like a body that is not JSON: refused before it is an action attempt
        raise InvalidError(
            f"Invalid request: unknown field(s) {', '.join(map(repr, unknown))}; "
            'the body is {"action": NAME, "payload": {...}}',
            code="VALIDATION_ERROR",
        )
    name, payload = body.get("action"), body.get("payload", {})
    return (
        name if isinstance(name, str) and name else "(no action)",
        payload if isinstance(payload, dict) else {"payload": payload},
    )


async def action_actor(request: Request, runtime: RuntimeDep) -> Actor:
    """The authenticated caller, token and user row cached (see the module docstring).

    On the event loop when both are cached (no I/O, no thread hop), else in the threadpool.
    """
    credential = bearer_credential(request)
    actor = _cached_action_actor(request, runtime, credential)
    if actor is not None:
        return actor
    found = await run_in_threadpool(admin_access.authenticate, runtime, credential)
    return _as_requested(request, found)


def _cached_action_actor(request: Request, runtime: Runtime, credential: str) -> Actor | None:
    """The caller if its token and user are cached (no I/O), else None."""
    actor = admin_access.cached_actor(runtime, credential)
    return None if actor is None else _as_requested(request, actor)


def _as_requested(request: Request, actor: Actor) -> Actor:
    """`actor` as this request's caller: its address, client, trace id and source."""
    return replace(
        actor,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        trace_id=get_trace_id(request),
        source=request_source(request, actor),
    )


def request_source(request: Request, actor: Actor) -> Source:
    """`web` for the admin console (it says so in `X-AgentOS-Source`), else the actor's."""
    return WEB_SOURCE if request.headers.get(SOURCE_HEADER) == WEB_SOURCE else actor.source


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
ActionRequestDep = Annotated[tuple[str, dict[str, Any]], Depends(action_request)]
# Tags per route: the managers read belongs to the SSOT group.
router = APIRouter(prefix="/api/admin", route_class=ActionRoute)
ACTION_TAGS: list[str | Enum] = ["Admin Actions"]
RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"description": "Unknown action (UNKNOWN_ACTION)"},
    503: {"description": "A circuit breaker is open (CIRCUIT_OPEN) or a dependency is down"},
}
# The reads answer no 404 or 409 (server/openapi.py adds each status's codes).
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: ERROR_RESPONSES[status] for status in (401, 403, 422, 429)
}
# 1-255 visible ASCII characters once surrounding quotes are dropped (empty: no key).
# Documented here and checked by the pipeline (services: idempotency.validate_key), so a
# refusal is audited; when both headers come, the first is used and the other checked too.
KEY_SCHEMA = {"pattern": r'^("*[!#-~]([!-~]{0,253}[!#-~])?"*)?$'}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Replay-safe retries (IETF draft); else 422 INVALID_IDEMPOTENCY_KEY",
        json_schema_extra=KEY_SCHEMA,
    ),
]
XIdempotencyKey = Annotated[
    str | None,
    Header(
        alias="X-Idempotency-Key",
        description="Same as Idempotency-Key",
        json_schema_extra=KEY_SCHEMA,
    ),
]


@router.post(
    "/action",
    tags=ACTION_TAGS,
    summary="Run an admin action (audited, rate-limited, idempotent)",
    description='Body: `{"action": NAME, "payload": {...}}`. Dangerous actions need '
    "`confirm: true` (or `dry_run: true`). A retry with the same Idempotency-Key answers "
    "the stored response with `Idempotent-Replayed: true`.",
    response_model=SuccessEnvelope[ActionResponse],
    responses=RESPONSES,
    openapi_extra=ACTION_BODY_OPENAPI,
)
async def run_action(
    request: Request,
    body: ActionRequestDep,
    actor: ActionCallerDep,
    idempotency_key: IdempotencyKey = None,
    x_idempotency_key: XIdempotencyKey = None,
) -> Response:
    return await _answer(request, actor, body, (idempotency_key, x_idempotency_key))


async def _answer(
    request: Request,
    actor: Actor,
    body: tuple[str, dict[str, Any]],
    sent_keys: tuple[str | None, str | None],
) -> Response:
    action, payload = body
    keys = [key for key in sent_keys if key]
    for other in keys[1:]:
        idempotency.validate_key(other)
    # The whole transaction in one thread hop (a session dependency would take two more);
    # timed per action, so backups and exports do not hold up the pool of quick ones.
    # The answer goes out once the commit is durable; the bus announcement and returning the
    # connection follow on the worker thread, and the response's background task waits for
    # them, so the request is done only when they are.
    kind = action if registry.get(action) is not None else "(unknown)"
    execute = functools.partial(
        _execute, request.app.state.runtime, actor, action, payload, keys[0] if keys else None
    )
    result, finished = await offload.ACTIONS.run_then(kind, execute)
    headers = {REPLAY_HEADER: "true"} if result.replayed else None
    return Response(
        _ok_body(request, result),
        media_type="application/json",
        headers=headers,
        background=_AfterTheAnswer(finished),
    )


class _AfterTheAnswer(BackgroundTask):
    """The response's background task: waits until what the action left for after its
    answer ran (without `BackgroundTask`'s inspection of a function at every request)."""

    def __init__(self, finished: offload.Finished) -> None:
        self.finished = finished

    async def __call__(self) -> None:
        await self.finished.wait()


async def _fast_action(request: Request) -> Response | None:
    """`POST /api/admin/action` answered at the edge (server/edge.py) when the caller's
    token and user are cached: the same steps as `run_action`, in the same order (the
    body, then the admin-action tier, then the pipeline), without FastAPI's dependency
    resolution, which cost more than the rest of the route. Anything else (first sight of
    a token, API keys) is handed to the full route before the body is read."""
    credential = bearer_or_none(request.headers.get("authorization"))
    if credential is None:
        return None
    actor = _cached_action_actor(request, request.app.state.runtime, credential)
    if actor is None:
        return None
    headers = request.headers
    try:
        body = await action_request(request)
        limit_actor(request, actor, "admin_action")
        return await _answer(
            request,
            actor,
            body,
            (headers.get("idempotency-key"), headers.get("x-idempotency-key")),
        )
    except AgentOSError as exc:
        return _own_error_response(request, exc)


def _execute(
    runtime: Runtime,
    actor: Actor,
    action: str,
    payload: dict[str, Any],
    key: str | None,
    later: list[Callback],
) -> ActionResponse:
    with unit_of_work(runtime, later, begin_now=True) as session:
        return pipeline.execute(
            session, actor=actor, action=action, payload=payload, idempotency_key=key
        )


def _ok_body(request: Request, result: ActionResponse) -> bytes:
    """The success envelope, serialised once (the route's model documents it)."""
    envelope = ok(request, orjson.Fragment(result.model_dump_json()))
    return orjson.dumps(envelope)


@router.get(
    "/action/status",
    tags=ACTION_TAGS,
    summary="Action catalog, recent executions, per-action counts and latency, breakers",
    response_model=SuccessEnvelope[ActionStatusRead],
    responses=READ_RESPONSES,
)
def action_status(
    request: Request,
    session: ReadSessionDep,
    actor: StatusReaderDep,
    recent: Annotated[int, Query(ge=1, le=200)] = 20,
    window_hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
) -> dict[str, Any]:
    data = status.status(session, actor=actor, recent=recent, window_hours=window_hours)
    return ok(request, data)


@router.get(
    "/ssot/managers",
    summary="Users, API keys (no secrets), the IP allow-list and lockouts (the Managers view)",
    description="The Managers section of the admin read model, read live for the caller. "
    "`GET /api/admin/managers` is its deprecated alias (see `Sunset`).",
    tags=["Admin SSOT"],
    response_model=SuccessEnvelope[ManagersView],
    responses=READ_RESPONSES,
)
# Deprecated alias (server/versioning.py DEPRECATIONS): admin data only through the SSOT.
@router.get("/managers", include_in_schema=False)
def managers(request: Request, session: ReadSessionDep, actor: StatusReaderDep) -> dict[str, Any]:
    return ok(request, managers_read.overview(session, actor=actor))


@router.get(
    "/ssot/figures",
    summary="Exact figures: failed jobs by error code, retries waiting, steps per agent and hour",
    description="Counted in the database over every row (not a sample) and read live for the "
    "caller. `part` (repeatable) picks what to compute, all by default; `error_code` also "
    "lists that code's newest failed jobs (empty: jobs that failed without a code). The "
    "per-agent series cover the last 24 hours, one bucket per UTC hour.",
    tags=["Admin SSOT"],
    response_model=SuccessEnvelope[LiveFigures],
    responses=READ_RESPONSES,
)
def figures(
    request: Request,
    session: ReadSessionDep,
    actor: StatusReaderDep,
    part: Annotated[list[FiguresPart] | None, Query(description="what to compute")] = None,
    error_code: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    parts = part or figures_read.ALL_PARTS
    data = figures_read.read(session, actor=actor, parts=parts, error_code=error_code)
    return ok(request, data)


FAST_ROUTES: dict[tuple[str, str], FastHandler] = {
    ("POST", f"{router.prefix}/action"): _fast_action,
}
