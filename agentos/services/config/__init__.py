"""Configuration as operators read it: the effective settings (secrets masked) with their
source, and the runtime `settings` table that actions change live."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import RuntimeSetting, RuntimeSettingChange
from agentos.errors import NotFoundError
from agentos.schemas.actions_reads import ConfigGetResult, EffectiveSetting
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.services.config import catalog, live
from agentos.services.context import Actor
from agentos.services.runtime import Runtime

SECRET_SUFFIXES = ("secret", "password", "secret_key", "token")
MASK = "****"


def masked(name: str, value: Any) -> Any:
    """A setting's value as an operator may see it: secrets hidden, URL passwords hidden."""
    if value is None:
        return None
    if isinstance(value, SecretStr) or name.lower().endswith(SECRET_SUFFIXES):
        return MASK if value else None
    if isinstance(value, str) and "://" in value and "@" in value:
        scheme, rest = value.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:{MASK}@{host}" if ":" in credentials else value
    if isinstance(value, int | float | bool | str | list | dict):
        return value
    return str(value)


def effective(runtime: Runtime) -> list[EffectiveSetting]:
    """Every setting in force, masked, with where its value comes from."""
    settings, state = runtime.settings, live.applied(runtime)
    items = []
    for name in type(settings).model_fields:
        source: Literal["default", "environment", "runtime"] = "default"
        if name in state.names:
            source = "runtime"
        elif name in state.started.model_fields_set:
            source = "environment"
        items.append(
            EffectiveSetting(
                name=name,
                value=masked(name, getattr(settings, name)),
                source=source,
                settable=name in catalog.RUNTIME_SETTABLE,
            )
        )
    return items


def runtime_rows(session: Session) -> list[RuntimeSettingRead]:
    rows = session.scalars(select(RuntimeSetting).order_by(RuntimeSetting.key))
    return [RuntimeSettingRead.model_validate(row) for row in rows]


def get(session: Session, *, runtime: Runtime, key: str | None = None) -> ConfigGetResult:
    settings = runtime.settings
    result = ConfigGetResult(
        deployment="embedded" if settings.is_embedded else "distributed",
        effective=effective(runtime),
        runtime=runtime_rows(session),
    )
    if key is None:
        return result
    result.effective = [item for item in result.effective if item.name == key]
    result.runtime = [item for item in result.runtime if item.key == key]
    if not result.effective and not result.runtime:
        raise NotFoundError(f"no setting named {key!r}", code="SETTING_NOT_FOUND")
    return result


def put(session: Session, *, key: str, value: Any, actor: Actor, reason: str | None = None) -> Any:
    """Set a runtime setting (shared by every process of the deployment) and record the
    change in its history; returns the old value. Concurrent first writes of a key do not
    collide: the row is created if missing, then locked."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(RuntimeSetting).values(key=key, value=None, updated_at=utcnow())
    session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
    row = session.get(RuntimeSetting, key, with_for_update=True, populate_existing=True)
    assert row is not None
    old = row.value
    row.value = value
    row.updated_by = actor.name
    row.updated_at = utcnow()
    session.add(
        RuntimeSettingChange(
            key=key, old_value=old, new_value=value, changed_by=actor.name, reason=reason
        )
    )
    session.flush()
    return old
