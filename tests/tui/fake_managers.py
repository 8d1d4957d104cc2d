"""The Managers and Configuration views' side of the fake source: their catalog entries and
small, stateful stand-ins for the user.*, apikey.*, ipallow.*, system.lockout.clear and
config.* actions, and for `managers()` and `config()`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from agentos.errors import AgentOSError, InvalidError
from agentos.schemas.actions import ActionInfo
from agentos.schemas.actions_config import (
    ConfigHistoryEntry,
    ConfigHistoryPayload,
    ConfigKeyPayload,
    ConfigSetPayload,
)
from agentos.schemas.actions_managers import (
    ApiKeyCreatePayload,
    ApiKeyIdPayload,
    CidrPayload,
    IpAllowAddPayload,
    IpAllowEntryRead,
    LockoutRead,
    ManagersView,
    UserCreatePayload,
    UserIdPayload,
    UserSetRolePayload,
)
from agentos.schemas.actions_reads import ConfigGetPayload, EffectiveSetting
from agentos.schemas.actions_system import LockoutClearPayload
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.schemas.auth import ApiKeyRead
from agentos.schemas.users import UserRead
from agentos.tui.source import ConfigView

ONE_TIME_PASSWORD = "otp-Wq7-once-only"
KEY_SECRET = "aos_live_5ecret_shown_once"
MANAGER_ACTIONS: dict[str, type[BaseModel]] = {
    "user.create": UserCreatePayload,
    "user.disable": UserIdPayload,
    "user.enable": UserIdPayload,
    "user.set_role": UserSetRolePayload,
    "user.unlock": UserIdPayload,
    "user.tokens.revoke": UserIdPayload,
    "apikey.create": ApiKeyCreatePayload,
    "apikey.revoke": ApiKeyIdPayload,
    "ipallow.add": IpAllowAddPayload,
    "ipallow.remove": CidrPayload,
    "system.lockout.clear": LockoutClearPayload,
}
CONFIG_ACTIONS: dict[str, type[BaseModel]] = {
    "config.get": ConfigGetPayload,
    "config.set": ConfigSetPayload,
    "config.reset": ConfigKeyPayload,
    "config.history": ConfigHistoryPayload,
}


def catalog_of(actions: dict[str, type[BaseModel]]) -> list[ActionInfo]:
    return [
        ActionInfo(
            name=name,
            view="Managers" if name in MANAGER_ACTIONS else "Configuration",
            summary=f"fake {name}",
            permission="users:write",
            read_only=False,
            rate_class="high_risk",
            rate_limit=10,
            rate_window_s=60,
            dangerous=False,
            dependencies=[],
            payload_schema=model.model_json_schema(),
        )
        for name, model in actions.items()
    ]


def user_id(number: int) -> uuid.UUID:
    return uuid.UUID(f"a{number:07x}-0000-4000-8000-000000000000")


class FakeManagers:
    """What managers() and the Managers actions answer; `fail[name]` raises (name
    "managers" for the read)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.users = [
            self._user(1, "admin", "admin", last_login_at=now - timedelta(hours=1)),
            self._user(2, "dana", "operator", must_change_password=True, email="dana@ex.org"),
            self._user(
                3, "eve", "readonly", is_active=False, locked_until=now + timedelta(minutes=10)
            ),
        ]
        self.keys = [
            self._key(1, self.users[1].id, "ci-uploader", scopes=["agent"]),
            self._key(2, self.users[0].id, "old-key", revoked_at=now - timedelta(days=1)),
        ]
        self.allowlist = [
            IpAllowEntryRead(cidr="10.20.0.0/16", note="office", created_by="admin", created_at=now)
        ]
        self.configured = ["127.0.0.0/8", "::1/128"]
        self.lockouts = [
            LockoutRead(
                scope="ip",
                subject="203.0.113.7",
                failures=5,
                locked_until=now + timedelta(minutes=5),
            ),
            LockoutRead(scope="user", subject="eve", failures=3),
        ]
        self.fail: dict[str, AgentOSError] = {}
        self.reads = 0

    def _user(self, number: int, username: str, role: str, **fields: Any) -> UserRead:
        values = {
            "id": user_id(number),
            "username": username,
            "role": role,
            "is_active": True,
            "must_change_password": False,
            "created_at": self.now - timedelta(days=number),
            "updated_at": self.now,
        }
        return UserRead.model_validate(values | fields)

    def _key(self, number: int, owner: uuid.UUID, name: str, **fields: Any) -> ApiKeyRead:
        values = {
            "id": uuid.UUID(f"c{number:07x}-0000-4000-8000-000000000000"),
            "user_id": owner,
            "name": name,
            "prefix": f"aos_{number:04d}",
            "scopes": [],
            "created_at": self.now - timedelta(days=number),
        }
        return ApiKeyRead.model_validate(values | fields)

    def view(self) -> ManagersView:
        self.reads += 1
        if "managers" in self.fail:
            raise self.fail["managers"]
        return ManagersView(
            users=self.users,
            users_total=len(self.users),
            api_keys=self.keys,
            ip_allowlist=self.allowlist,
            configured_allowlist=self.configured,
            lockouts=self.lockouts,
        )

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action in self.fail:
            raise self.fail[action]
        MANAGER_ACTIONS[action].model_validate(payload)  # as the pipeline would
        handler = getattr(self, "_" + action.replace(".", "_"))
        result: dict[str, Any] = handler(payload)
        return result

    def _change(self, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
        for index, user in enumerate(self.users):
            if str(user.id) == payload["user_id"]:
                self.users[index] = user.model_copy(update=fields)
                return self.users[index].model_dump(mode="json")
        raise AgentOSError("no such user", code="NOT_FOUND")

    def _user_create(self, payload: dict[str, Any]) -> dict[str, Any]:
        fields = {"email": payload.get("email"), "must_change_password": True}
        made = self._user(len(self.users) + 1, payload["username"], payload["role"], **fields)
        self.users.append(made)
        return {"user": made.model_dump(mode="json"), "one_time_password": ONE_TIME_PASSWORD}

    def _user_disable(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._change(payload, is_active=False)

    def _user_enable(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._change(payload, is_active=True)

    def _user_unlock(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._change(payload, locked_until=None)

    def _user_set_role(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._change(payload, role=payload["role"])

    def _user_tokens_revoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        user = self._change(payload)
        return {"user": user, "refresh_tokens": 2, "api_keys": 1}

    def _apikey_create(self, payload: dict[str, Any]) -> dict[str, Any]:
        owner = uuid.UUID(payload["user_id"])
        made = self._key(len(self.keys) + 1, owner, payload["name"], scopes=payload["scopes"])
        self.keys.insert(0, made)
        return {"key": made.model_dump(mode="json"), "secret": KEY_SECRET}

    def _apikey_revoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        for index, key in enumerate(self.keys):
            if str(key.id) == payload["key_id"]:
                self.keys[index] = key.model_copy(update={"revoked_at": self.now})
                return self.keys[index].model_dump(mode="json")
        raise AgentOSError("no such key", code="NOT_FOUND")

    def _ipallow_add(self, payload: dict[str, Any]) -> dict[str, Any]:
        entry = IpAllowEntryRead(
            cidr=payload["cidr"], note=payload.get("note"), created_at=self.now
        )
        self.allowlist.append(entry)
        return entry.model_dump(mode="json")

    def _ipallow_remove(self, payload: dict[str, Any]) -> dict[str, Any]:
        before = len(self.allowlist)
        self.allowlist = [entry for entry in self.allowlist if entry.cidr != payload["cidr"]]
        return {"cidr": payload["cidr"], "removed": len(self.allowlist) < before}

    def _system_lockout_clear(self, payload: dict[str, Any]) -> dict[str, Any]:
        ip = payload["ip"]
        self.lockouts = [lock for lock in self.lockouts if (lock.scope, lock.subject) != ("ip", ip)]
        return {"ip": ip, "cleared": True}


class FakeConfig:
    """What config() and the config.* actions answer: `ssot_cache_ttl_s` must be at least 1
    (as the real one); `database_url` cannot be set at runtime."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.settings = {
            item.name: item
            for item in (
                EffectiveSetting(
                    name="ssot_cache_ttl_s", value=15, source="default", settable=True
                ),
                EffectiveSetting(
                    name="log_level", value="INFO", source="environment", settable=True
                ),
                EffectiveSetting(
                    name="action_rate_limits",
                    value={"high_risk": 10},
                    source="default",
                    settable=True,
                ),
                EffectiveSetting(name="database_url", value="sqlite:///x.db", source="default"),
                EffectiveSetting(name="secret_key", value="****", source="environment"),
            )
        }
        self.started = {name: (item.value, item.source) for name, item in self.settings.items()}
        self.history: list[ConfigHistoryEntry] = []
        self.fail: dict[str, AgentOSError] = {}
        self.reads = 0

    def view(self) -> ConfigView:
        self.reads += 1
        if "config.get" in self.fail:
            raise self.fail["config.get"]
        runtime = [
            RuntimeSettingRead(
                key=f"config:{item.name}", value=item.value, updated_by="fake", updated_at=self.now
            )
            for item in self.settings.values()
            if item.source == "runtime"
        ]
        settings = list(self.settings.values())
        summary = [("deployment", "embedded"), ("backend", "fake")]
        summary += [(item.name, str(item.value)) for item in settings]
        return ConfigView(summary=summary, runtime=runtime, settings=settings)

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action in self.fail:
            raise self.fail[action]
        CONFIG_ACTIONS[action].model_validate(payload)
        if action == "config.history":
            key = payload.get("key")
            entries = [entry for entry in self.history if key is None or entry.key == key]
            return {"entries": [entry.model_dump(mode="json") for entry in reversed(entries)]}
        key = payload["key"]
        item = self.settings.get(key)
        if item is None or not item.settable:
            raise InvalidError(f"{key!r} cannot be changed at runtime", code="SETTING_NOT_SETTABLE")
        if action == "config.set":
            return self._set(item, payload["value"])
        value, source = self.started[key]
        return self._put(item, value, source, None)

    def _set(self, item: EffectiveSetting, value: Any) -> dict[str, Any]:
        if item.name == "ssot_cache_ttl_s" and (not isinstance(value, int) or value < 1):
            raise InvalidError(
                "ssot_cache_ttl_s: Input should be greater than or equal to 1",
                code="INVALID_SETTING",
                details={"key": item.name},
            )
        return self._put(item, value, "runtime", value)

    def _put(self, item: EffectiveSetting, value: Any, source: str, new: Any) -> dict[str, Any]:
        self.settings[item.name] = item.model_copy(update={"value": value, "source": source})
        self.history.append(
            ConfigHistoryEntry(
                key=item.name,
                old_value=item.value,
                new_value=new,
                changed_by="tui-fake",
                changed_at=self.now + timedelta(seconds=len(self.history)),
            )
        )
        return {"key": item.name, "old": item.value, "new": value, "source": source}
