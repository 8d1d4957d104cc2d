"""Configuration view: the configuration in use and the runtime settings table."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions_reads import ConfigGetPayload, ConfigGetResult
from agentos.services import config
from agentos.services.actions.registry import ActionContext, action

VIEW = "Configuration"


@action(
    "config.get",
    view=VIEW,
    summary="The configuration in use (secrets masked) with each value's source, and the "
    "runtime settings",
    payload=ConfigGetPayload,
    result=ConfigGetResult,
    permission="config:read",
)
def config_get(session: Session, payload: ConfigGetPayload, ctx: ActionContext) -> ConfigGetResult:
    return config.get(session, settings=ctx.settings, key=payload.key)
