"""The settings an operator may change while the service runs, and their validation.

Each is a field of `Settings`, validated by that field's own type and constraints (and the
model's own validators), so a runtime value can never be one the environment could not
set. Secrets, URLs and paths are not here: they are neither readable nor settable this
way. Intervals that fix a scheduler at start (reclaim, clean-up, anchor) are not either.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from agentos.errors import InvalidError
from agentos.settings import Settings

RUNTIME_SETTABLE: tuple[str, ...] = (
    "ssot_cache_ttl_s",
    "ssot_warm_interval_s",
    "ratelimit_public_per_min",
    "ratelimit_user_per_min",
    "ratelimit_admin_read_per_min",
    "ratelimit_admin_action_per_min",
    "ratelimit_upload_per_min",
    "ratelimit_burst_factor",
    "ratelimit_burst_window_s",
    "action_rate_limits",
    "action_rate_window_s",
    "action_rate_algorithm",
    "rate_limit_policies",
    "action_ip_restrictions",
    "breaker_failure_threshold",
    "breaker_cooldown_s",
    "breaker_half_open_max_calls",
    "lockout_attempts",
    "lockout_seconds",
    "idempotency_ttl_s",
    "upload_max_bytes",
    "upload_chunk_min_bytes",
    "upload_chunk_max_bytes",
    "upload_session_ttl_s",
    "upload_free_space_margin_bytes",
    "access_token_ttl_s",
    "log_level",
    "log_levels",
    "log_retention_days",
    "stall_after_s",
    "heartbeat_interval_s",
    "worker_lost_after_s",
    "cancel_check_interval_s",
    "runner_poll_interval_s",
    "worker_reply_timeout_s",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    field = Settings.model_fields[name]
    return TypeAdapter(Annotated[field.annotation, field])  # type: ignore[arg-type]


def require_settable(name: str) -> str:
    if name not in RUNTIME_SETTABLE:
        raise InvalidError(
            f"{name!r} cannot be changed at runtime (`agentos config get` lists the settings "
            "that can)",
            code="SETTING_NOT_SETTABLE",
            details={"key": name},
        )
    return name


def validate(name: str, value: Any) -> Any:
    """The value as `Settings` would hold it (JSON-ready), or InvalidError saying why."""
    require_settable(name)
    adapter = _adapter(name)
    try:
        typed = adapter.validate_python(value)
        if name == "log_level":
            typed = _log_level(typed)
        checked = _model_validators(name, typed)
    except (ValidationError, ValueError) as exc:
        raise InvalidError(
            f"{name}: {_reason(exc)}", code="INVALID_SETTING", details={"key": name}
        ) from None
    return adapter.dump_python(checked, mode="json")


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    return level


def _model_validators(name: str, value: Any) -> Any:
    """The model's own field validators (e.g. CIDR lists normalised)."""
    for decorator in Settings.__pydantic_decorators__.field_validators.values():
        if name in decorator.info.fields and decorator.info.mode == "after":
            value = decorator.func.__func__(Settings, value)  # type: ignore[attr-defined]
    return value


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def validate_document(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(valid values, every error) of a whole configuration document."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    for name, value in document.items():
        try:
            values[name] = validate(name, value)
        except InvalidError as error:
            errors.append(error.message)
    return values, errors


def typed(name: str, stored: Any) -> Any:
    """A stored (JSON) value as the `Settings` attribute holds it."""
    return _adapter(name).validate_python(stored)
