"""Log in and refresh: `POST /api/auth/login`, `POST /api/auth/refresh` (public tier)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agentos.schemas.auth import LoginRequest, RefreshRequest, TokenPair
from agentos.schemas.common import SuccessEnvelope
from agentos.server.deps import ClientIpDep, SessionDep
from agentos.server.ratelimit import PublicRateLimit
from agentos.server.responses import ok
from agentos.server.routes._docs import errors, success
from agentos.services.security import authn

router = APIRouter(prefix="/api/auth", tags=["Auth"], dependencies=[PublicRateLimit])

# Public tier (per client IP): no token needed, so 401 means bad credentials here.
RESPONSES = {**success(TokenPair), **errors(400, 401, 422, 429)}


@router.post(
    "/login",
    summary="Exchange username and password for an access and a refresh token",
    description="Five failures lock the account and the client IP for a while; every "
    "failure, including a locked account, answers 401 INVALID_CREDENTIALS.",
    response_model=SuccessEnvelope[TokenPair],
    responses=RESPONSES,
)
def login(
    request: Request, body: LoginRequest, session: SessionDep, ip: ClientIpDep
) -> dict[str, Any]:
    pair = authn.login(session, username=body.username, password=body.password, ip=ip)
    return ok(request, pair)


@router.post(
    "/refresh",
    summary="Rotate a refresh token into a new token pair",
    description="Each refresh token works once. Presenting a spent one revokes every "
    "token of its login (401 REFRESH_TOKEN_REUSED) and raises a security event.",
    response_model=SuccessEnvelope[TokenPair],
    responses=RESPONSES,
)
def refresh(request: Request, body: RefreshRequest, session: SessionDep) -> dict[str, Any]:
    return ok(request, authn.refresh(session, refresh_token=body.refresh_token))
