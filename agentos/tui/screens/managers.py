"""Managers (8): users, API keys, the admin IP allow-list and login lockouts, and their
actions (all admin-only, `high_risk` rate class: 10 a minute per user and action).

The lists come in one read (`Source.managers`, `GET /api/admin/managers` remotely), done
when the view opens, after an action that changes them, on ^r, on a change announced live,
and otherwise at most every `MANAGERS_REFRESH_S`. A refusal (403, 429) is shown above the
tables, which keep what they last showed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any, get_args

from textual.app import ComposeResult
from textual.notifications import SeverityLevel
from textual.widgets import Label, Static

from agentos.errors import AgentOSError, RateLimitedError
from agentos.schemas.actions_managers import LockoutRead, ManagersView
from agentos.schemas.auth import ApiKeyRead
from agentos.schemas.users import Role, UserRead
from agentos.tui import commands
from agentos.tui.screens import manager_forms
from agentos.tui.screens.base import ViewScreen
from agentos.tui.screens.modals import ChoiceScreen
from agentos.tui.widgets import managers_rows as rows
from agentos.tui.widgets.table import KeyedTable

MANAGERS_REFRESH_S = 30.0
# A change announced live reads again only if the lists were not read this recently.
CHANGE_GAP_S = 5.0
ROLES: tuple[str, ...] = get_args(Role)
# The actions that change what this view shows: read again as soon as one is done.
CHANGES = frozenset(
    {
        "user.create",
        "user.disable",
        "user.enable",
        "user.set_role",
        "user.unlock",
        "user.tokens.revoke",
        "apikey.create",
        "apikey.revoke",
        "ipallow.add",
        "ipallow.remove",
        "system.lockout.clear",
    }
)
EVENTS = frozenset({"auth.revoked", "ipallow.changed"})
TABLES = ("users", "keys", "allowlist", "lockouts")


class ManagersScreen(ViewScreen):
    VIEW = "managers"
    TITLE = "Managers"
    KEY_ACTIONS = {
        "new_user": "user.create",
        "enable": "user.enable",
        "disable": "user.disable",
        "set_role": "user.set_role",
        "unlock": "user.unlock",
        "revoke_tokens": "user.tokens.revoke",
        "new_key": "apikey.create",
        "revoke_key": "apikey.revoke",
        "allow": "ipallow.add",
        "disallow": "ipallow.remove",
    }

    def __init__(self) -> None:
        super().__init__()
        self.lists: ManagersView | None = None
        self.error: str | None = None
        self._asked = 0
        self._shown = 0

    def body(self) -> ComposeResult:
        yield Static("loading…", id="managers-note")
        yield Label("Users", classes="section", id="users-title")
        yield KeyedTable(rows.USER_COLUMNS, id="users")
        yield Static("", id="users-note", classes="empty")
        yield Label("API keys", classes="section")
        yield KeyedTable(rows.KEY_COLUMNS, id="keys")
        yield Static("", id="keys-note", classes="empty")
        yield Label(
            "Admin IP allow-list (table entries, then the configured ones)", classes="section"
        )
        yield KeyedTable(rows.ALLOW_COLUMNS, id="allowlist")
        yield Static("", id="allowlist-note", classes="empty")
        yield Label("Login lockouts", classes="section")
        yield KeyedTable(rows.LOCKOUT_COLUMNS, id="lockouts")
        yield Static("", id="lockouts-note", classes="empty")

    # -- data ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        if self.due("managers", MANAGERS_REFRESH_S):
            self.fetch()

    def on_change(self, payload: dict[str, Any]) -> None:
        kind = payload.get("kind")
        if kind == "action":
            if payload.get("action") in CHANGES:
                self.reload()
            return
        announced = kind in EVENTS or (
            kind == "event.created" and payload.get("source") == "security"
        )
        if announced and self.due("managers", CHANGE_GAP_S):
            self.fetch()

    def apply_filter(self) -> None:
        self._show()

    def reload(self) -> None:
        self.due("managers", 0, force=True)
        self.fetch()

    def fetch(self) -> None:
        self._asked += 1
        self.run_worker(
            partial(self._read, self._asked), thread=True, group="managers", exit_on_error=False
        )

    def _read(self, token: int) -> None:
        try:
            view = self.tui.source.managers()
        except AgentOSError as exc:
            self.app.call_from_thread(self._failed, token, exc)
            return
        self.app.call_from_thread(self._loaded, token, view)

    def _current(self, token: int) -> bool:
        """Whether this answer is the newest asked for and there is a view to show it in."""
        if not self.live or token < self._shown:
            return False
        self._shown = token
        return True

    def _loaded(self, token: int, view: ManagersView) -> None:
        if self._current(token):
            self.lists, self.error = view, None
            self._show()

    def _failed(self, token: int, exc: AgentOSError) -> None:
        if not self._current(token):
            return
        self.error = commands.describe_error(exc)
        if isinstance(exc, RateLimitedError):
            self.due_again_in("managers", max(1.0, exc.retry_after_s), MANAGERS_REFRESH_S)
        elif exc.kind == "forbidden":
            self.error += " — users, keys and the allow-list need an admin (users:read)"
        severity: SeverityLevel = "warning" if isinstance(exc, RateLimitedError) else "error"
        self.notify(self.error, title="managers", severity=severity)
        self._show()

    # -- rendering -------------------------------------------------------------------------

    def _show(self) -> None:
        view, text = self.lists, self.filter_text
        if self.error:
            kept = " (showing the last lists)" if view is not None else ""
            self.query_one("#managers-note", Static).update(self.error + kept)
        elif view is not None:
            self.query_one("#managers-note", Static).update(rows.counts_line(view))
        if view is None:
            for name in TABLES:
                note = "not loaded: see above" if self.error else "loading…"
                self.query_one(f"#{name}-note", Static).update(note)
            return
        now, owners = datetime.fromtimestamp(self.tui.clock(), UTC), self._owners()
        users = [u for u in view.users if self.matches(text, u.username, u.role, u.email)]
        keys = [
            k for k in view.api_keys if self.matches(text, k.name, owners.get(k.user_id), k.prefix)
        ]
        allowed = [row for row in rows.allow_rows(view) if self.matches(text, *row[1])]
        locks = [lock for lock in view.lockouts if self.matches(text, lock.scope, lock.subject)]
        self._sync("users", [(str(u.id), rows.user_row(u, now)) for u in users], "no users")
        self._sync(
            "keys",
            [(str(k.id), rows.key_row(k, owners, now)) for k in keys],
            "no API keys — k issues one",
        )
        self._sync("allowlist", allowed, "no networks allowed (only local front ends)")
        self._sync(
            "lockouts",
            [(rows.lockout_key(lock), rows.lockout_row(lock, now)) for lock in locks],
            "no lockouts",
        )

    def _sync(self, name: str, shown: list[rows.Row], empty: str) -> None:
        self.query_one(f"#{name}", KeyedTable).sync(shown)
        note = (
            ""
            if shown
            else (empty if not self.filter_text else f"nothing matches {self.filter_text!r}")
        )
        self.query_one(f"#{name}-note", Static).update(note)

    def _owners(self) -> dict[uuid.UUID, str]:
        return {user.id: user.username for user in self.lists.users} if self.lists else {}

    # -- selection -------------------------------------------------------------------------

    def _selected(self, name: str) -> str | None:
        key = self.query_one(f"#{name}", KeyedTable).current_key
        if key is None:
            self.notify(f"no {name.rstrip('s').replace('key', 'API key')} selected")
        return key

    def _user(self) -> UserRead | None:
        key = self._selected("users")
        users = {str(user.id): user for user in self.lists.users} if self.lists else {}
        return users.get(key or "")

    def _key(self) -> ApiKeyRead | None:
        key = self._selected("keys")
        keys = {str(item.id): item for item in self.lists.api_keys} if self.lists else {}
        return keys.get(key or "")

    def _lockout(self) -> LockoutRead | None:
        key = self._selected("lockouts")
        locks = {rows.lockout_key(lock): lock for lock in self.lists.lockouts} if self.lists else {}
        return locks.get(key or "")

    def selection_context(self) -> dict[str, str]:
        context = {}
        user = self.query_one("#users", KeyedTable).current_key
        if user:
            context["user_id"] = user
        key = self.query_one("#keys", KeyedTable).current_key
        if key:
            context["key_id"] = key
        return context

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_lockout" and not (
            self.tui.has_action("system.lockout.clear") or self.tui.has_action("user.unlock")
        ):
            return False
        return super().check_action(action, parameters)

    # -- keys ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.tui.request_refresh(force=True)
        self.reload()

    def action_new_user(self) -> None:
        if self.require_write():
            self.app.push_screen(manager_forms.new_user(ROLES))

    def _on_user(self, name: str, confirm: str | None = None, **extra: str) -> None:
        user = self._user()
        if user is not None:
            payload = {"user_id": str(user.id), **extra}
            self.tui.run_admin_action(name, payload, confirm=confirm)

    def action_enable(self) -> None:
        self._on_user("user.enable")

    def action_unlock(self) -> None:
        self._on_user("user.unlock")

    def action_disable(self) -> None:
        user = self._user()
        if user is not None:
            self._on_user("user.disable", rows.disable_question(user))

    def action_revoke_tokens(self) -> None:
        user = self._user()
        if user is not None and self.lists is not None:
            live = [k for k in self.lists.api_keys if k.user_id == user.id and k.revoked_at is None]
            self._on_user("user.tokens.revoke", rows.revoke_tokens_question(user, len(live)))

    def action_set_role(self) -> None:
        user = self._user()
        if user is None or not self.require_write():
            return
        self.app.push_screen(
            ChoiceScreen(f"Role of {user.username}", ROLES, current=user.role),
            partial(self._role_chosen, user),
        )

    def _role_chosen(self, user: UserRead, role: str | None) -> None:
        if role is None or role == user.role:
            return
        self.tui.run_admin_action("user.set_role", {"user_id": str(user.id), "role": role})

    def action_new_key(self) -> None:
        user = self._user()
        if user is not None and self.require_write():
            self.app.push_screen(manager_forms.new_key(user))

    def action_revoke_key(self) -> None:
        key = self._key()
        if key is None:
            return
        if key.revoked_at is not None:
            self.notify(f"API key {key.name!r} is already revoked")
            return
        owner = self._owners().get(key.user_id, str(key.user_id))
        self.tui.run_admin_action(
            "apikey.revoke", {"key_id": str(key.id)}, confirm=rows.revoke_key_question(key, owner)
        )

    def action_allow(self) -> None:
        if self.require_write():
            self.app.push_screen(manager_forms.allow_cidr())

    def action_disallow(self) -> None:
        key = self._selected("allowlist")
        if key is None or self.lists is None:
            return
        if key.startswith(rows.CONFIGURED):
            self.notify(
                f"{key.removeprefix(rows.CONFIGURED)} is configured in the environment "
                "(AGENTOS_ADMIN_IP_ALLOWLIST): change it there",
                severity="warning",
            )
            return
        cidr = key.removeprefix(rows.TABLE)
        question = rows.remove_cidr_question(cidr, self.lists.configured_allowlist)
        self.tui.run_admin_action("ipallow.remove", {"cidr": cidr}, confirm=question)

    def action_clear_lockout(self) -> None:
        lockout = self._lockout()
        if lockout is None:
            return
        if lockout.scope == "ip":
            self.tui.run_admin_action("system.lockout.clear", {"ip": lockout.subject})
            return
        users = self.lists.users if self.lists else []
        user = next((u for u in users if u.username.lower() == lockout.subject), None)
        if user is None:
            self.notify(f"no user named {lockout.subject!r} to unlock", severity="warning")
            return
        self.tui.run_admin_action("user.unlock", {"user_id": str(user.id)})
