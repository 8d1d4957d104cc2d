"""The System view's side of the fake source: its catalog entries and a small, stateful
stand-in for the system.* actions (backups, breakers, storage, maintenance)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from agentos.errors import AgentOSError
from agentos.schemas.actions import ActionInfo, BreakerRead, NoPayload
from agentos.schemas.actions_system import (
    BackupCreatePayload,
    BackupDeletePayload,
    BackupIdPayload,
    BreakerNamePayload,
    BreakerTripPayload,
    MaintenanceEnablePayload,
    RestorePayload,
    StorageCleanupPayload,
)
from agentos.schemas.admin import AdminDocument
from agentos.schemas.health import MaintenanceState
from agentos.schemas.system import (
    BackupList,
    BackupRead,
    BreakerList,
    StorageArea,
    StorageCleanupResult,
    StorageItem,
    StorageUsage,
)

SYSTEM_ACTIONS: dict[str, tuple[type[BaseModel], bool]] = {
    "system.backup": (BackupCreatePayload, False),
    "system.backup.list": (NoPayload, False),
    "system.backup.verify": (BackupIdPayload, False),
    "system.backup.delete": (BackupDeletePayload, True),
    "system.restore": (RestorePayload, True),
    "system.maintenance.enable": (MaintenanceEnablePayload, False),
    "system.maintenance.disable": (NoPayload, False),
    "system.circuit.list": (NoPayload, False),
    "system.circuit.trip": (BreakerTripPayload, True),
    "system.circuit.reset": (BreakerNamePayload, False),
    "system.storage.usage": (NoPayload, False),
    "system.storage.cleanup": (StorageCleanupPayload, True),
}
LISTS = {
    "system.backup.list": "backups",
    "system.circuit.list": "breakers",
    "system.storage.usage": "storage",
}


def system_catalog() -> list[ActionInfo]:
    return [
        ActionInfo(
            name=name,
            view="SystemControls",
            summary=f"fake {name}",
            permission="system:write",
            read_only=False,
            rate_class="critical",
            rate_limit=5,
            rate_window_s=60,
            dangerous=dangerous,
            dependencies=[],
            payload_schema=model.model_json_schema(),
        )
        for name, (model, dangerous) in SYSTEM_ACTIONS.items()
    ]


def make_backup(number: int, document: AdminDocument, **fields: Any) -> BackupRead:
    taken = document.built_at - timedelta(hours=number * 5)
    values: dict[str, Any] = {
        "id": uuid.UUID(f"b{number:07x}-0000-4000-8000-000000000000"),
        "label": f"nightly-{number}",
        "kind": "sqlite",
        "engine": "sqlite",
        "path": f"agentos-backup-{number}.sqlite3",
        "size_bytes": 3_500_000 * number,
        "sha256": f"{number:x}" * 64,
        "schema_revision": "0007_backups",
        "started_at": taken,
        "finished_at": taken,
        "verified_at": taken if number == 1 else None,
    }
    return BackupRead.model_validate({**values, **fields})


class FakeSystem:
    """What the system.* actions answer; `fail[name]` makes `name` raise that error."""

    def __init__(self, document: AdminDocument) -> None:
        self.document = document
        self.backups = [make_backup(1, document), make_backup(2, document)]
        self.breakers = [
            BreakerRead(name="database", state="closed", failures=0),
            BreakerRead(name="broker", state="open", failures=5, opened_at=document.built_at),
            BreakerRead(name="storage", state="half_open", failures=2, probes=1),
        ]
        self.orphans = [
            StorageItem(path="/home/agentos/uploads/stale-1", bytes=2048, reason="orphaned upload"),
            StorageItem(path="/home/agentos/clips/gone", bytes=4096, reason="job gone"),
        ]
        self.fail: dict[str, AgentOSError] = {}

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action in self.fail:
            raise self.fail[action]
        if action in LISTS:
            return self.listing(LISTS[action]).model_dump(mode="json")
        handler = getattr(self, "_" + action.removeprefix("system.").replace(".", "_"), None)
        return {} if handler is None else handler(payload)

    def listing(self, name: str) -> BaseModel:
        if name == "backups":
            total = sum(item.size_bytes for item in self.backups)
            return BackupList(backups=self.backups, total_bytes=total, directory="/srv/backups")
        if name == "breakers":
            return BreakerList(breakers=self.breakers)
        areas = {
            name: StorageArea(path=f"/srv/agentos/{name}", files=files, bytes=size)
            for name, files, size in (
                ("uploads", 3, 12_000_000),
                ("clips", 40, 250_000_000),
                ("thumbnails", 40, 2_000_000),
                ("backups", len(self.backups), sum(b.size_bytes for b in self.backups)),
            )
        }
        total = sum(area.bytes for area in areas.values())
        return StorageUsage(
            areas=areas, total_bytes=total, disk_free_bytes=40 * 2**30, disk_total_bytes=100 * 2**30
        )

    def _backup(self, payload: dict[str, Any]) -> dict[str, Any]:
        made = make_backup(len(self.backups) + 1, self.document, label=payload.get("label"))
        self.backups.insert(0, made)
        return made.model_dump(mode="json")

    def _backup_delete(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.backups = [b for b in self.backups if str(b.id) != payload["backup_id"]]
        return {"backup_id": payload["backup_id"], "path": "x", "bytes_freed": 1}

    def _backup_verify(self, payload: dict[str, Any]) -> dict[str, Any]:
        ok = payload["backup_id"] != str(self.backups[-1].id)  # the oldest one is damaged
        return {
            "backup_id": payload["backup_id"],
            "ok": ok,
            "checksum_ok": ok,
            "expected_sha256": "a" * 64,
            "actual_sha256": "a" * 64 if ok else "b" * 64,
            "restore_check": "integrity_check",
            "problems": [] if ok else ["checksum mismatch"],
        }

    def _circuit_trip(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._force(payload["name"], "open")

    def _circuit_reset(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._force(payload["name"], "closed")

    def _force(self, name: str, state: str) -> dict[str, Any]:
        for index, breaker in enumerate(self.breakers):
            if breaker.name == name:
                changed = {"state": state, "forced": True, "failures": 0}
                self.breakers[index] = breaker.model_copy(update=changed)
                return self.breakers[index].model_dump(mode="json")
        return {}

    def _storage_cleanup(self, payload: dict[str, Any]) -> dict[str, Any]:
        dry_run = bool(payload.get("dry_run"))
        files = list(self.orphans)
        if not dry_run:
            self.orphans = []
        freed = sum(item.bytes for item in files)
        result = StorageCleanupResult(
            files=files, expired_uploads=1, bytes_freed=freed, dry_run=dry_run
        )
        return result.model_dump(mode="json")

    def _maintenance_enable(self, payload: dict[str, Any]) -> dict[str, Any]:
        state = MaintenanceState(
            enabled=True,
            message=payload["message"],
            retry_after_s=payload.get("retry_after_s", 300),
            since=self.document.built_at,
            by="fake-admin",
        )
        self.document.dashboard.maintenance = state
        return state.model_dump(mode="json")

    def _maintenance_disable(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.document.dashboard.maintenance = MaintenanceState(enabled=False)
        return {"enabled": False}
