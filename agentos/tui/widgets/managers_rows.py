"""What the Managers view shows: table rows and the questions its dangerous keys ask
(plain text; no Textual, no fetching)."""

from __future__ import annotations

import uuid
from datetime import datetime

from rich.text import Text

from agentos.schemas.actions_managers import IpAllowEntryRead, LockoutRead, ManagersView
from agentos.schemas.auth import ApiKeyRead
from agentos.schemas.users import UserRead
from agentos.tui.widgets import health
from agentos.tui.widgets.table import Row

USER_COLUMNS = ("user", "role", "active", "must change", "locked", "last login", "email")
KEY_COLUMNS = ("name", "owner", "prefix", "scopes", "created", "last used", "expires", "revoked")
ALLOW_COLUMNS = ("cidr", "from", "note", "added by", "added")
LOCKOUT_COLUMNS = ("scope", "subject", "failures", "locked until")
CONFIGURED = "env:"  # row key prefix of the configured (environment) allow-list entries
TABLE = "table:"


def _locked(until: datetime | None, now: datetime) -> Text | str:
    if until is None or until <= now:
        return "no"
    return Text(f"until {health.when(until)}", style="bold red")


def user_row(user: UserRead, now: datetime) -> tuple[object, ...]:
    return (
        user.username,
        user.role,
        "yes" if user.is_active else Text("disabled", style="bold red"),
        Text("yes", style="yellow") if user.must_change_password else "no",
        _locked(user.locked_until, now),
        health.when(user.last_login_at),
        user.email or "-",
    )


def key_state(key: ApiKeyRead, now: datetime) -> Text | str:
    if key.revoked_at is not None:
        return Text(health.when(key.revoked_at), style="bold red")
    if key.expires_at is not None and key.expires_at <= now:
        return Text("expired", style="yellow")
    return "-"


def key_row(key: ApiKeyRead, owners: dict[uuid.UUID, str], now: datetime) -> tuple[object, ...]:
    return (
        key.name,
        owners.get(key.user_id, str(key.user_id)[:8]),
        key.prefix,
        ", ".join(key.scopes) or "-",
        health.when(key.created_at),
        health.when(key.last_used_at),
        health.when(key.expires_at) if key.expires_at else "never",
        key_state(key, now),
    )


def allow_rows(view: ManagersView) -> list[Row]:
    """The table's entries (removable) and the configured ones (environment, marked)."""
    rows: list[Row] = [(TABLE + entry.cidr, allow_row(entry)) for entry in view.ip_allowlist]
    rows += [
        (
            CONFIGURED + cidr,
            (cidr, Text("environment", style="cyan"), "AGENTOS_ADMIN_IP_ALLOWLIST", "-", "-"),
        )
        for cidr in view.configured_allowlist
    ]
    return rows


def allow_row(entry: IpAllowEntryRead) -> tuple[object, ...]:
    return (
        entry.cidr,
        "table",
        entry.note or "-",
        entry.created_by or "-",
        health.when(entry.created_at),
    )


def lockout_key(lockout: LockoutRead) -> str:
    return f"{lockout.scope}:{lockout.subject}"


def lockout_row(lockout: LockoutRead, now: datetime) -> tuple[object, ...]:
    return (
        lockout.scope,
        lockout.subject,
        str(lockout.failures),
        _locked(lockout.locked_until, now),
    )


def counts_line(view: ManagersView) -> str:
    active = sum(1 for user in view.users if user.is_active)
    shown = (
        f"{len(view.users)} shown of {view.users_total}"
        if view.users_total > len(view.users)
        else f"{view.users_total}"
    )
    live_keys = sum(1 for key in view.api_keys if key.revoked_at is None)
    return (
        f"Users ({shown}, {active} active) · API keys ({len(view.api_keys)}, {live_keys} live) · "
        f"allow-list {len(view.ip_allowlist)} + {len(view.configured_allowlist)} configured · "
        f"lockouts {len(view.lockouts)}"
    )


def disable_question(user: UserRead) -> str:
    return (
        f"Disable {user.username} ({user.role})? They can no longer log in, and their tokens "
        "and API keys stop working at once. e enables the account again."
    )


def revoke_tokens_question(user: UserRead, keys: int) -> str:
    return (
        f"End every session of {user.username} and revoke their {keys} live API key(s)? "
        "They must log in again; revoked keys cannot be restored."
    )


def revoke_key_question(key: ApiKeyRead, owner: str) -> str:
    return (
        f"Revoke API key {key.name!r} ({key.prefix}…) of {owner}? It is refused from the next "
        "request and cannot be restored."
    )


def remove_cidr_question(cidr: str, configured: list[str]) -> str:
    admitted = ", ".join(configured) or "none"
    return (
        f"Remove {cidr} from the admin IP allow-list? Admin requests from it are refused "
        f"from then on unless the configured networks ({admitted}) admit them; a remote "
        "TUI connected from it loses admin access too."
    )
