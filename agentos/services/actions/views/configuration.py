"""Configuration view: config.get, config.set, config.reset, config.export, config.import,
config.validate, config.history, ratelimit.policy.set. Values are validated as `Settings`
validates them, kept with their history, and applied live in every process."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import NoPayload
from agentos.schemas.actions_config import (
    ConfigDocumentPayload,
    ConfigExport,
    ConfigHistoryPayload,
    ConfigHistoryResult,
    ConfigImportPayload,
    ConfigImportResult,
    ConfigKeyPayload,
    ConfigSetPayload,
    ConfigSetResult,
    ConfigValidateResult,
    RatePolicyResult,
    RatePolicySetPayload,
)
from agentos.schemas.actions_reads import ConfigGetPayload, ConfigGetResult
from agentos.services import config
from agentos.services.actions import registry
from agentos.services.actions.registry import ActionContext, action
from agentos.services.config import commands
from agentos.settings import RatePolicy

VIEW = "Configuration"


@action(
    "config.get",
    view=VIEW,
    summary="The configuration in use (secrets masked) with each value's source (default, "
    "environment, runtime), and the runtime settings",
    payload=ConfigGetPayload,
    result=ConfigGetResult,
    permission="config:read",
)
def config_get(session: Session, payload: ConfigGetPayload, ctx: ActionContext) -> ConfigGetResult:
    return config.get(session, runtime=ctx.runtime, key=payload.key)


@action(
    "config.set",
    view=VIEW,
    summary="Set a runtime setting: validated, kept with its history, applied live in every "
    "process",
    payload=ConfigSetPayload,
    result=ConfigSetResult,
    permission="config:write",
    rate_class="high_risk",
)
def config_set(session: Session, payload: ConfigSetPayload, ctx: ActionContext) -> ConfigSetResult:
    return commands.set_value(
        session, key=payload.key, value=payload.value, actor=ctx.actor, reason=ctx.reason
    )


@action(
    "config.reset",
    view=VIEW,
    summary="Remove a setting's runtime value: back to the environment's, else the default",
    payload=ConfigKeyPayload,
    result=ConfigSetResult,
    permission="config:write",
    rate_class="high_risk",
)
def config_reset(
    session: Session, payload: ConfigKeyPayload, ctx: ActionContext
) -> ConfigSetResult:
    return commands.reset(session, key=payload.key, actor=ctx.actor, reason=ctx.reason)


@action(
    "config.export",
    view=VIEW,
    summary="Every settable setting's value in force, as a document config.import takes",
    payload=NoPayload,
    result=ConfigExport,
    permission="config:read",
)
def config_export(session: Session, payload: NoPayload, ctx: ActionContext) -> ConfigExport:
    return commands.export(session, runtime=ctx.runtime)


@action(
    "config.import",
    view=VIEW,
    summary="Apply a configuration document, all or nothing (dry_run: only the diff)",
    payload=ConfigImportPayload,
    result=ConfigImportResult,
    permission="config:write",
    rate_class="high_risk",
)
def config_import(
    session: Session, payload: ConfigImportPayload, ctx: ActionContext
) -> ConfigImportResult:
    return commands.import_document(
        session,
        document=payload.document,
        dry_run=payload.dry_run,
        actor=ctx.actor,
        reason=ctx.reason,
    )


@action(
    "config.validate",
    view=VIEW,
    summary="Check a configuration document; every error named, nothing applied",
    payload=ConfigDocumentPayload,
    result=ConfigValidateResult,
    permission="config:read",
)
def config_validate(
    session: Session, payload: ConfigDocumentPayload, ctx: ActionContext
) -> ConfigValidateResult:
    return commands.validate_document(payload.document)


@action(
    "config.history",
    view=VIEW,
    summary="Earlier values of the runtime settings: who, when, old, new, why",
    payload=ConfigHistoryPayload,
    result=ConfigHistoryResult,
    permission="config:read",
)
def config_history(
    session: Session, payload: ConfigHistoryPayload, ctx: ActionContext
) -> ConfigHistoryResult:
    return commands.history(session, key=payload.key, limit=payload.limit)


@action(
    "ratelimit.policy.set",
    view=VIEW,
    summary="Set one scope's rate limit (HTTP tier, action class or action): limit, window "
    "and algorithm (sliding window, token bucket, fixed window), live",
    payload=RatePolicySetPayload,
    result=RatePolicyResult,
    permission="config:write",
    rate_class="high_risk",
)
def ratelimit_policy_set(
    session: Session, payload: RatePolicySetPayload, ctx: ActionContext
) -> RatePolicyResult:
    policy = RatePolicy(limit=payload.limit, window_s=payload.window_s, algorithm=payload.algorithm)
    return commands.set_rate_policy(
        session,
        scope=payload.scope,
        policy=policy,
        actions=frozenset(spec.name for spec in registry.all_actions()),
        actor=ctx.actor,
        reason=ctx.reason,
    )
