"""Changing the runtime configuration: set, reset, export, import, validate, history, and
rate-limit policies. Every change is validated first, kept with who, when and why, applied
in this process once committed and announced so every other process applies it too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from agentos.db.models import RuntimeSetting, RuntimeSettingChange
from agentos.errors import InvalidError
from agentos.schemas.actions_config import (
    ConfigChange,
    ConfigExport,
    ConfigHistoryEntry,
    ConfigHistoryResult,
    ConfigImportResult,
    ConfigSetResult,
    ConfigValidateResult,
    RatePolicyResult,
)
from agentos.services import config, events
from agentos.services.config import catalog, live
from agentos.services.context import Actor
from agentos.services.outbox import after_commit
from agentos.services.runtime import Runtime, runtime_of
from agentos.settings import RatePolicy

HTTP_TIERS = ("public", "user", "upload", "admin_read", "admin_action")
ACTION_CLASSES = ("standard", "high_risk", "critical")


def _in_force(runtime: Runtime, name: str) -> Any:
    return catalog.validate(name, getattr(runtime.settings, name))


def _announce(session: Session, runtime: Runtime, names: list[str], actor: Actor) -> None:
    events.announce(session, live.CHANGED, keys=names, by=actor.name)
    after_commit(session, lambda: live.load(runtime))


def set_value(
    session: Session, *, key: str, value: Any, actor: Actor, reason: str | None
) -> ConfigSetResult:
    runtime = runtime_of(session)
    new = catalog.validate(key, value)
    old = _in_force(runtime, key)
    config.put(session, key=live.PREFIX + key, value=new, actor=actor, reason=reason)
    _announce(session, runtime, [key], actor)
    return ConfigSetResult(key=key, old=old, new=new, source="runtime")


def reset(session: Session, *, key: str, actor: Actor, reason: str | None) -> ConfigSetResult:
    """Back to the value the processes started with (environment, else default)."""
    runtime = runtime_of(session)
    catalog.require_settable(key)
    row = session.get(RuntimeSetting, live.PREFIX + key, with_for_update=True)
    started = catalog.validate(key, getattr(live.applied(runtime).started, key))
    old = row.value if row is not None else started
    if row is not None:
        session.add(
            RuntimeSettingChange(
                key=row.key,
                old_value=row.value,
                new_value=None,
                changed_by=actor.name,
                reason=reason,
            )
        )
        session.execute(delete(RuntimeSetting).where(RuntimeSetting.key == row.key))
        session.flush()
        _announce(session, runtime, [key], actor)
    source = "environment" if key in live.applied(runtime).started.model_fields_set else "default"
    return ConfigSetResult(key=key, old=old, new=started, source=source)


def export(session: Session, *, runtime: Runtime) -> ConfigExport:
    settings = runtime.settings
    return ConfigExport(
        exported_at=datetime.now(UTC),
        deployment="embedded" if settings.is_embedded else "distributed",
        values={name: _in_force(runtime, name) for name in catalog.RUNTIME_SETTABLE},
        runtime=sorted(live.stored(session)),
    )


def _values_of(document: dict[str, Any]) -> dict[str, Any]:
    """An export document's values, or a plain {setting: value} object."""
    values = document.get("values") if "format" in document else document
    if not isinstance(values, dict):
        raise InvalidError("the document has no values object", code="INVALID_CONFIG_DOCUMENT")
    return values


def validate_document(document: dict[str, Any]) -> ConfigValidateResult:
    values, errors = catalog.validate_document(_values_of(document))
    return ConfigValidateResult(ok=not errors, errors=errors, keys=sorted(values))


def import_document(
    session: Session,
    *,
    document: dict[str, Any],
    dry_run: bool,
    actor: Actor,
    reason: str | None,
) -> ConfigImportResult:
    """All or nothing: any invalid value refuses the whole document, naming every error."""
    runtime = runtime_of(session)
    values, errors = catalog.validate_document(_values_of(document))
    if errors:
        raise InvalidError(
            f"the document has {len(errors)} invalid value(s), nothing was changed: "
            + "; ".join(errors),
            code="INVALID_CONFIG_DOCUMENT",
            details={"errors": errors},
        )
    changes = [
        ConfigChange(key=name, old=_in_force(runtime, name), new=value)
        for name, value in sorted(values.items())
        if _in_force(runtime, name) != value
    ]
    if not dry_run and changes:
        for change in changes:
            key = live.PREFIX + change.key
            config.put(session, key=key, value=change.new, actor=actor, reason=reason)
        _announce(session, runtime, [change.key for change in changes], actor)
    return ConfigImportResult(
        dry_run=dry_run, changes=changes, unchanged=len(values) - len(changes)
    )


def history(session: Session, *, key: str | None, limit: int) -> ConfigHistoryResult:
    query = select(RuntimeSettingChange).order_by(RuntimeSettingChange.changed_at.desc())
    if key is not None:
        query = query.where(RuntimeSettingChange.key.in_((key, live.PREFIX + key)))
    rows = session.scalars(query.limit(limit))
    return ConfigHistoryResult(
        entries=[
            ConfigHistoryEntry(
                key=row.key.removeprefix(live.PREFIX),
                old_value=row.old_value,
                new_value=row.new_value,
                changed_by=row.changed_by,
                changed_at=row.changed_at,
                reason=row.reason,
            )
            for row in rows
        ]
    )


def set_rate_policy(
    session: Session,
    *,
    scope: str,
    policy: RatePolicy,
    actions: frozenset[str],
    actor: Actor,
    reason: str | None,
) -> RatePolicyResult:
    """One scope's limit, window and algorithm (`actions`: the names an action scope may be)."""
    if scope not in HTTP_TIERS and scope not in ACTION_CLASSES and scope not in actions:
        raise InvalidError(
            f"unknown scope {scope!r}: an HTTP tier ({', '.join(HTTP_TIERS)}), an action rate "
            f"class ({', '.join(ACTION_CLASSES)}) or an action name",
            code="UNKNOWN_SCOPE",
        )
    runtime = runtime_of(session)
    key = live.PREFIX + "rate_limit_policies"
    row = session.get(RuntimeSetting, key, with_for_update=True)  # no lost concurrent update
    current = row.value if row is not None else _in_force(runtime, "rate_limit_policies")
    policies = {**current, scope: policy.model_dump(mode="json")}
    set_value(session, key="rate_limit_policies", value=policies, actor=actor, reason=reason)
    typed = catalog.typed("rate_limit_policies", policies)
    return RatePolicyResult(scope=scope, policy=policy, policies=typed)
