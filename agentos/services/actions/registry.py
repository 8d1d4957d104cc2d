"""The one registry of admin actions (see ACTIONS.md).

Each action is declared once, in the module of its admin view, with the `action`
decorator: name, view, payload model, result model, permission, rate class, dangerous
flag, the dependencies its circuit breakers guard, and the handler. `load()` imports every
module of `actions/views`, so a new view is added by adding a module. The HTTP body is
a discriminated union on `action` generated from the registry (`request_union()`).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from sqlalchemy.orm import Session

from agentos.errors import InvalidError
from agentos.schemas.actions import ActionInfo, ActionPayload, RateClass
from agentos.services.backends import breaker
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.security import roles
from agentos.settings import RatePolicy, Settings

VIEWS: tuple[str, ...] = (
    "Dashboard",
    "Jobs & Queue",
    "SystemControls",
    "AgentsWorkers",
    "Managers",
    "SystemLogs",
    "Configuration",
    "Analytics",
)
RATE_CLASSES: tuple[str, ...] = ("standard", "high_risk", "critical")
VIEWS_PACKAGE = "agentos.services.actions.views"


@dataclass(frozen=True)
class ActionContext:
    """What a handler gets besides its session and payload."""

    actor: Actor
    runtime: Runtime
    reason: str | None
    dry_run: bool

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


P = TypeVar("P", bound=ActionPayload)
Handler = Callable[[Session, Any, ActionContext], Any]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    view: str
    summary: str
    payload: type[ActionPayload]
    result: type[BaseModel]
    permission: str
    rate_class: RateClass
    dangerous: bool
    dependencies: tuple[str, ...]
    handler: Handler

    @property
    def read_only(self) -> bool:
        return roles.is_read_permission(self.permission)


_actions: dict[str, ActionSpec] = {}
_load_lock = threading.Lock()
_loaded = False


def _check(spec: ActionSpec) -> None:
    if spec.name in _actions:
        raise RuntimeError(f"admin action {spec.name!r} is declared twice")
    if spec.view not in VIEWS:
        raise RuntimeError(f"{spec.name}: unknown view {spec.view!r}")
    if ":" not in spec.permission:
        raise RuntimeError(f"{spec.name}: permission must be '<area>:<read|write>'")
    unknown = set(spec.dependencies) - set(breaker.DEPENDENCIES)
    if unknown:
        raise RuntimeError(f"{spec.name}: unknown dependencies {sorted(unknown)}")
    if spec.dangerous and not {"confirm", "dry_run"} <= set(spec.payload.model_fields):
        raise RuntimeError(f"{spec.name}: a dangerous action's payload needs confirm and dry_run")


def action(
    name: str,
    *,
    view: str,
    summary: str,
    payload: type[P],
    result: type[BaseModel],
    permission: str,
    rate_class: RateClass = "standard",
    dangerous: bool = False,
    dependencies: tuple[str, ...] = ("database",),
) -> Callable[[Callable[[Session, P, ActionContext], Any]], Callable[..., Any]]:
    """Declare an admin action; the decorated function is its handler."""

    def register(handler: Callable[[Session, P, ActionContext], Any]) -> Callable[..., Any]:
        spec = ActionSpec(
            name=name,
            view=view,
            summary=summary,
            payload=payload,
            result=result,
            permission=permission,
            rate_class=rate_class,
            dangerous=dangerous,
            dependencies=dependencies,
            handler=handler,
        )
        _check(spec)
        _actions[name] = spec
        return handler

    return register


def load() -> None:
    """Import every module of `actions/views` (each registers its actions)."""
    global _loaded
    with _load_lock:
        if _loaded:
            return
        package = importlib.import_module(VIEWS_PACKAGE)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{VIEWS_PACKAGE}.{module.name}")
        _loaded = True


def all_actions() -> list[ActionSpec]:
    load()
    return sorted(_actions.values(), key=lambda spec: (VIEWS.index(spec.view), spec.name))


def get(name: str) -> ActionSpec | None:
    load()
    return _actions.get(name)


def require(name: str) -> ActionSpec:
    spec = get(name)
    if spec is None:
        raise InvalidError(
            f"unknown action {name!r}; `agentos action --list` shows the catalog",
            code="UNKNOWN_ACTION",
            details={"action": name},
        )
    return spec


def validate_payload(spec: ActionSpec, payload: ActionPayload | dict[str, Any] | None) -> Any:
    """The payload as the action's model, or InvalidError with the field errors."""
    if isinstance(payload, spec.payload):
        return payload
    if isinstance(payload, BaseModel):
        payload = payload.model_dump()
    try:
        return spec.payload.model_validate(payload or {})
    except ValidationError as exc:
        errors = [
            {"loc": ["payload", *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False)
        ]
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidError(
            f"Invalid payload for {spec.name}: {where}: {first['msg']}",
            code="VALIDATION_ERROR",
            details={"errors": errors},
        ) from None


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", ".").split("."))


def _request_model(spec: ActionSpec) -> type[BaseModel]:
    required = any(field.is_required() for field in spec.payload.model_fields.values())
    payload_field: Any = (
        (spec.payload, ...) if required else (spec.payload, Field(default_factory=spec.payload))
    )
    return create_model(
        f"{_camel(spec.name)}Request",
        __doc__=f"{spec.name}: {spec.summary}",
        __config__=ConfigDict(extra="forbid"),  # the body is {action, payload}, nothing else
        action=(Literal.__getitem__(spec.name), ...),  # type: ignore[arg-type]
        payload=payload_field,
    )


@lru_cache(maxsize=1)
def request_union() -> Any:
    """`{"action": NAME, "payload": {...}}` for every action, discriminated on `action`."""
    models = tuple(_request_model(spec) for spec in all_actions())
    return Annotated[Union.__getitem__(models), Field(discriminator="action")]


@cache
def _payload_schema(payload: type[BaseModel]) -> dict[str, Any]:
    # Generating a JSON schema costs about half a millisecond per model: the status page
    # lists every action on each read, so each schema is made once per process.
    return payload.model_json_schema()


def info(spec: ActionSpec, settings: Settings) -> ActionInfo:
    return ActionInfo(
        name=spec.name,
        view=spec.view,
        summary=spec.summary,
        permission=spec.permission,
        read_only=spec.read_only,
        rate_class=spec.rate_class,
        rate_limit=rate_limit_of(spec, settings),
        rate_window_s=rate_policy_of(spec, settings).window_s,
        dangerous=spec.dangerous,
        dependencies=list(spec.dependencies),
        payload_schema=_payload_schema(spec.payload),
    )


def catalog(settings: Settings) -> list[ActionInfo]:
    return [info(spec, settings) for spec in all_actions()]


def rate_policy_of(spec: ActionSpec, settings: Settings) -> RatePolicy:
    """The action's own policy, else its rate class's, else the class limit per
    `action_rate_window_s` with `action_rate_algorithm` (ratelimit.policy.set sets them)."""
    policies = settings.rate_limit_policies
    found = policies.get(spec.name) or policies.get(spec.rate_class)
    if found is not None:
        return found
    defaults = {"standard": 50, "high_risk": 10, "critical": 5}
    return RatePolicy(
        limit=int(settings.action_rate_limits.get(spec.rate_class, defaults[spec.rate_class])),
        window_s=settings.action_rate_window_s,
        algorithm=settings.action_rate_algorithm,
    )


def rate_limit_of(spec: ActionSpec, settings: Settings) -> int:
    return rate_policy_of(spec, settings).limit
