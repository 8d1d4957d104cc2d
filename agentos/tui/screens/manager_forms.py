"""The Managers view's forms: a new user, a new API key, a network for the allow-list.
Each runs its action and stays open until it is done; the new user's one-time password
and the new key's secret are shown once, by the app, in their own dialog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from agentos.schemas.actions_managers import CidrPayload
from agentos.schemas.users import UserRead
from agentos.tui.screens.forms import FormField, FormScreen
from agentos.tui.widgets.form import field_error

DEFAULT_ROLE = "operator"


def _required(raw: dict[str, str], name: str) -> str:
    value = raw.get(name, "").strip()
    if not value:
        raise field_error(name, "required")
    return value


def _optional(raw: dict[str, str], name: str) -> dict[str, str]:
    value = raw.get(name, "").strip()
    return {name: value} if value else {}


def new_user(roles: Sequence[str]) -> FormScreen:
    def build(raw: dict[str, str]) -> dict[str, Any]:
        username = _required(raw, "username")
        return {"username": username, "role": raw["role"], **_optional(raw, "email")}

    return FormScreen(
        "New user (user.create)",
        [
            FormField("username", "username *", placeholder="dana"),
            FormField("role", "role *", value=DEFAULT_ROLE, choices=tuple(roles)),
            FormField("email", "email", placeholder="optional"),
        ],
        action="user.create",
        build=build,
        note="A one-time password is made and shown once; it must be changed at the first login.",
    )


def scopes_of(text: str) -> list[str]:
    return [scope.strip() for scope in text.split(",") if scope.strip()]


def new_key(user: UserRead) -> FormScreen:
    def build(raw: dict[str, str]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "user_id": str(user.id),
            "name": _required(raw, "name"),
            "scopes": scopes_of(raw.get("scopes", "")),
        }
        days = raw.get("expires_in_days", "").strip()
        if days:
            try:
                payload["expires_in_days"] = int(days)
            except ValueError:
                raise field_error(
                    "expires_in_days", f"a whole number of days, not {days!r}"
                ) from None
        return payload

    return FormScreen(
        f"New API key for {user.username} (apikey.create)",
        [
            FormField("name", "name *", placeholder="ci-uploader"),
            FormField("scopes", "scopes (comma-separated)", placeholder="optional, e.g. agent"),
            FormField("expires_in_days", "expires in (days)", placeholder="blank: never"),
        ],
        action="apikey.create",
        build=build,
        note=f"The key acts as {user.username} ({user.role}). Its secret is shown once.",
    )


def cidr_problem(text: str) -> str | None:
    """What is wrong with `text` as a network, as the action's own payload model says."""
    if not text.strip():
        return None
    try:
        CidrPayload.model_validate({"cidr": text})
    except ValidationError as exc:
        return str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
    return None


def allow_cidr() -> FormScreen:
    def build(raw: dict[str, str]) -> dict[str, Any]:
        return {"cidr": _required(raw, "cidr"), **_optional(raw, "note")}

    return FormScreen(
        "Allow a network to the admin endpoints (ipallow.add)",
        [
            FormField("cidr", "network (CIDR) *", placeholder="10.20.0.0/16", check=cidr_problem),
            FormField("note", "note", placeholder="optional: whose, why"),
        ],
        action="ipallow.add",
        build=build,
    )
