"""Log in, refresh, change the password: `POST /api/auth/login`, `/refresh`, `/password`
(public tier)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agentos.schemas.auth import LoginRequest, PasswordChange, RefreshRequest, TokenPair
from agentos.schemas.common import SuccessEnvelope
from agentos.server.deps import ClientIpDep, SessionDep, bearer_credential
from agentos.server.ratelimit import PublicRateLimit
from agentos.server.responses import ok
from agentos.server.routes._docs import BearerAuth, errors, success
from agentos.services.security import authn

router = APIRouter(prefix="/api/auth", tags=["Auth"], dependencies=[PublicRateLimit])

# Public tier (per client IP): no token needed, so 401 means bad credentials here.
RESPONSES = {**success(TokenPair), **errors(400, 401, 422, 429)}


@router.post(
    "/login",
    summary="Exchange username and password for an access and a refresh token",
    description="Five failures lock the account and the client IP for a while; every "
    "failure, including a locked account, answers 401 INVALID_CREDENTIALS. After a one-time "
    "password, `must_change_password` is true and the tokens only change it "
    "(POST /api/auth/password); anything else answers 403 PASSWORD_CHANGE_REQUIRED.",
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


@router.post(
    "/password",
    summary="Change your password (the only call a one-time password's tokens may make)",
    description="Needs the current password and a bearer access token (not an API key). "
    "Every other session of the user ends; the answer is a new token pair.",
    response_model=SuccessEnvelope[TokenPair],
    responses={**success(TokenPair), **errors(400, 401, 422, 429)},
    dependencies=[BearerAuth],
)
def change_password(request: Request, body: PasswordChange, session: SessionDep) -> dict[str, Any]:
    pair = authn.change_password(
        session,
        access_token=bearer_credential(request),
        current=body.current_password,
        new=body.new_password,
    )
    return ok(request, pair)
