"""Managers view: user.create, user.disable, user.enable, user.set_role, user.unlock,
user.tokens.revoke, apikey.create, apikey.revoke, ipallow.add, ipallow.remove. Admin only
(`users:write`, high-risk class). A revocation is announced, so every process drops what it
cached of the user at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.schemas.actions_managers import (
    ApiKeyCreated,
    ApiKeyCreatePayload,
    ApiKeyIdPayload,
    CidrPayload,
    IpAllowAddPayload,
    IpAllowEntryRead,
    IpAllowRemoved,
    TokensRevoked,
    UserCreatePayload,
    UserIdPayload,
    UserSetRolePayload,
)
from agentos.schemas.auth import ApiKeyRead
from agentos.schemas.users import UserCreated, UserRead
from agentos.services.actions.registry import ActionContext, action
from agentos.services.security import apikeys, ipallow, users

VIEW = "Managers"
WRITE = "users:write"


@action(
    "user.create",
    view=VIEW,
    summary="Create a user with a one-time password (shown once; it must be changed at the "
    "first login)",
    payload=UserCreatePayload,
    result=UserCreated,
    permission=WRITE,
    rate_class="high_risk",
)
def user_create(session: Session, payload: UserCreatePayload, ctx: ActionContext) -> UserCreated:
    user, one_time = users.create(
        session, username=payload.username, role=payload.role, email=payload.email
    )
    return UserCreated(user=user, one_time_password=one_time)


@action(
    "user.disable",
    view=VIEW,
    summary="The user can no longer log in; their tokens and API keys stop working at once",
    payload=UserIdPayload,
    result=UserRead,
    permission=WRITE,
    rate_class="high_risk",
)
def user_disable(session: Session, payload: UserIdPayload, ctx: ActionContext) -> UserRead:
    return users.disable(session, user_id=payload.user_id)


@action(
    "user.enable",
    view=VIEW,
    summary="The user can log in again",
    payload=UserIdPayload,
    result=UserRead,
    permission=WRITE,
    rate_class="high_risk",
)
def user_enable(session: Session, payload: UserIdPayload, ctx: ActionContext) -> UserRead:
    return users.enable(session, user_id=payload.user_id)


@action(
    "user.set_role",
    view=VIEW,
    summary="Change a user's role; tokens carrying the old one are refused from the next request",
    payload=UserSetRolePayload,
    result=UserRead,
    permission=WRITE,
    rate_class="high_risk",
)
def user_set_role(session: Session, payload: UserSetRolePayload, ctx: ActionContext) -> UserRead:
    return users.set_role(session, user_id=payload.user_id, role=payload.role)


@action(
    "user.unlock",
    view=VIEW,
    summary="Lift a user's lockout after failed logins",
    payload=UserIdPayload,
    result=UserRead,
    permission=WRITE,
    rate_class="high_risk",
)
def user_unlock(session: Session, payload: UserIdPayload, ctx: ActionContext) -> UserRead:
    return users.unlock(session, user_id=payload.user_id)


@action(
    "user.tokens.revoke",
    view=VIEW,
    summary="End every session of a user and revoke their API keys",
    payload=UserIdPayload,
    result=TokensRevoked,
    permission=WRITE,
    rate_class="high_risk",
)
def user_tokens_revoke(
    session: Session, payload: UserIdPayload, ctx: ActionContext
) -> TokensRevoked:
    user, sessions, keys = users.revoke_tokens(session, user_id=payload.user_id)
    return TokensRevoked(user=user, refresh_tokens=sessions, api_keys=keys)


@action(
    "apikey.create",
    view=VIEW,
    summary="Issue an API key for a user; the secret is shown once, only its hash is kept",
    payload=ApiKeyCreatePayload,
    result=ApiKeyCreated,
    permission=WRITE,
    rate_class="high_risk",
)
def apikey_create(
    session: Session, payload: ApiKeyCreatePayload, ctx: ActionContext
) -> ApiKeyCreated:
    expires = (
        utcnow() + timedelta(days=payload.expires_in_days) if payload.expires_in_days else None
    )
    key, secret = apikeys.create(
        session,
        user_id=payload.user_id,
        name=payload.name,
        scopes=payload.scopes,
        expires_at=expires,
    )
    return ApiKeyCreated(key=key, secret=secret)


@action(
    "apikey.revoke",
    view=VIEW,
    summary="Revoke an API key (refused from the next request)",
    payload=ApiKeyIdPayload,
    result=ApiKeyRead,
    permission=WRITE,
    rate_class="high_risk",
)
def apikey_revoke(session: Session, payload: ApiKeyIdPayload, ctx: ActionContext) -> ApiKeyRead:
    return apikeys.revoke(session, key_id=payload.key_id)


@action(
    "ipallow.add",
    view=VIEW,
    summary="Admit a network (CIDR) to the admin endpoints",
    payload=IpAllowAddPayload,
    result=IpAllowEntryRead,
    permission=WRITE,
    rate_class="high_risk",
)
def ipallow_add(
    session: Session, payload: IpAllowAddPayload, ctx: ActionContext
) -> IpAllowEntryRead:
    return ipallow.add(session, cidr=payload.cidr, note=payload.note, actor=ctx.actor)


@action(
    "ipallow.remove",
    view=VIEW,
    summary="Remove a network from the admin IP allow-list",
    payload=CidrPayload,
    result=IpAllowRemoved,
    permission=WRITE,
    rate_class="high_risk",
)
def ipallow_remove(session: Session, payload: CidrPayload, ctx: ActionContext) -> IpAllowRemoved:
    return ipallow.remove(session, cidr=payload.cidr)
