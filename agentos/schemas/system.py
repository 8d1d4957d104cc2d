"""What the SystemControls view shows: backups, maintenance, storage, cache, system info."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos.schemas.actions import BreakerRead
from agentos.schemas.health import HealthPart, MaintenanceState
from agentos.schemas.seed import SeedResult

BackupKind = Literal["pg_dump", "sqlite"]


class BackupRead(BaseModel):
    id: uuid.UUID
    label: str | None = None
    kind: BackupKind
    engine: str = Field(description="postgresql or sqlite")
    path: str
    size_bytes: int
    sha256: str
    schema_revision: str | None = None
    audit_seq: int | None = Field(default=None, description="audit chain head inside it")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_by: str | None = None
    verified_at: datetime | None = None
    file_present: bool = True


class BackupList(BaseModel):
    backups: list[BackupRead]
    total_bytes: int
    directory: str


class BackupVerifyResult(BaseModel):
    backup_id: uuid.UUID
    ok: bool
    checksum_ok: bool
    expected_sha256: str
    actual_sha256: str | None
    restore_check: str = Field(description="pg_restore --list or SQLite integrity_check")
    entries: int | None = Field(default=None, description="archive entries / tables found")
    problems: list[str] = Field(default_factory=list)


class BackupDeleteResult(BaseModel):
    backup_id: uuid.UUID
    path: str
    bytes_freed: int
    dry_run: bool = False


class RestoreResult(BaseModel):
    backup_id: uuid.UUID
    restored_revision: str | None
    migrated_to: str | None
    audit_export_path: str | None = Field(
        description="the audit records written after the backup, kept in this file"
    )
    audit_records_exported: int
    audit_seq_after_restore: int | None
    seconds: float
    dry_run: bool = False


class CacheClearResult(BaseModel):
    pattern: str
    deleted: int


class CacheStatsRead(BaseModel):
    backend: str
    shared: bool = Field(
        description="false on the embedded deployment: the figures are those of the process "
        "that answered (ask the server through the API for its own)"
    )
    hits: int
    misses: int
    hit_rate: float
    keys: int
    memory_bytes: int | None = None


class VacuumResult(BaseModel):
    dialect: str
    statement: str
    seconds: float
    size_before_bytes: int | None = None
    size_after_bytes: int | None = None


class SystemHealth(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    parts: dict[str, HealthPart]
    maintenance: MaintenanceState


class RateLimitResetResult(BaseModel):
    pattern: str
    cleared: int


class IdempotencyPurgeResult(BaseModel):
    older_than_s: int | None
    purged: int


class LockoutClearResult(BaseModel):
    ip: str
    cleared: bool = Field(description="whether the IP had failures or a lockout recorded")


class StorageArea(BaseModel):
    path: str
    files: int
    bytes: int


class StorageUsage(BaseModel):
    areas: dict[str, StorageArea] = Field(description="uploads, clips, thumbnails, backups")
    total_bytes: int
    disk_free_bytes: int
    disk_total_bytes: int


class StorageItem(BaseModel):
    path: str
    bytes: int
    reason: str


class StorageCleanupResult(BaseModel):
    files: list[StorageItem]
    expired_uploads: int
    bytes_freed: int
    dry_run: bool = False


class UploadsAbortResult(BaseModel):
    aborted: list[uuid.UUID]
    older_than_minutes: int


class RunningWork(BaseModel):
    job_id: uuid.UUID
    step: str
    agent: str
    worker: str | None = None
    started_at: datetime | None = None


class DrainResult(BaseModel):
    paused: bool
    drained: bool = Field(description="nothing is processing any more")
    waited_s: float
    still_running: list[RunningWork]


class SystemInfo(BaseModel):
    version: str
    python: str
    libraries: dict[str, str]
    hostname: str
    pid: int
    started_at: datetime
    uptime_s: float
    deployment: Literal["embedded", "distributed"]
    backends: dict[str, str]
    schema_revision: str | None
    schema_head: str
    home: str
    configuration: dict[str, Any] = Field(description="every setting; secrets masked")


class ResetAndSeedResult(BaseModel):
    dry_run: bool = False
    dialect: str
    rows_now: dict[str, int] = Field(description="rows per table before the reset")
    seed: SeedResult | None = Field(default=None, description="what the seed wrote and verified")


class BreakerList(BaseModel):
    breakers: list[BreakerRead]
