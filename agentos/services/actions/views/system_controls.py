"""SystemControls view, the database's life: system.backup, system.backup.list,
system.backup.verify, system.backup.delete, system.restore, system.maintenance.enable,
system.maintenance.disable, system.drain, system.db.migrate, system.db.check,
system.db.vacuum, system.db.reset_and_seed. Every system action is `critical` (the
seed's 5/min) and admin-only (`system:*`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import NoPayload
from agentos.schemas.actions_system import (
    BackupCreatePayload,
    BackupDeletePayload,
    BackupIdPayload,
    DrainPayload,
    MaintenanceEnablePayload,
    ResetAndSeedPayload,
    RestorePayload,
)
from agentos.schemas.db import MigrationResult, SchemaReport
from agentos.schemas.health import MaintenanceState
from agentos.schemas.seed import SeedOptions
from agentos.schemas.system import (
    BackupDeleteResult,
    BackupList,
    BackupRead,
    BackupVerifyResult,
    DrainResult,
    ResetAndSeedResult,
    RestoreResult,
    VacuumResult,
)
from agentos.services import maintenance, schema_check, seed
from agentos.services.actions.registry import ActionContext, action
from agentos.services.system import backups, operations, restore

VIEW = "SystemControls"
FILES = ("database", "storage")


@action(
    "system.backup",
    view=VIEW,
    summary="Take a consistent database backup (pg_dump custom format / SQLite online "
    "backup) into the backups folder; returns its id, size and SHA-256",
    payload=BackupCreatePayload,
    result=BackupRead,
    permission="system:write",
    rate_class="critical",
    dependencies=FILES,
)
def system_backup(session: Session, payload: BackupCreatePayload, ctx: ActionContext) -> BackupRead:
    return backups.create(session, runtime=ctx.runtime, label=payload.label, actor=ctx.actor)


@action(
    "system.backup.list",
    view=VIEW,
    summary="Every backup with its size, checksum, schema revision and age, newest first",
    payload=NoPayload,
    result=BackupList,
    permission="system:read",
    rate_class="critical",
)
def system_backup_list(session: Session, payload: NoPayload, ctx: ActionContext) -> BackupList:
    return backups.find(session, settings=ctx.settings)


@action(
    "system.backup.verify",
    view=VIEW,
    summary="Recompute a backup's checksum and check it restores (pg_restore --list / "
    "SQLite integrity_check)",
    payload=BackupIdPayload,
    result=BackupVerifyResult,
    permission="system:read",
    rate_class="critical",
    dependencies=FILES,
)
def system_backup_verify(
    session: Session, payload: BackupIdPayload, ctx: ActionContext
) -> BackupVerifyResult:
    return backups.verify(session, runtime=ctx.runtime, backup_id=payload.backup_id)


@action(
    "system.backup.delete",
    view=VIEW,
    summary="Delete a backup (file, sidecar and catalog row)",
    payload=BackupDeletePayload,
    result=BackupDeleteResult,
    permission="system:write",
    rate_class="critical",
    dangerous=True,
    dependencies=FILES,
)
def system_backup_delete(
    session: Session, payload: BackupDeletePayload, ctx: ActionContext
) -> BackupDeleteResult:
    return backups.delete(
        session, settings=ctx.settings, backup_id=payload.backup_id, dry_run=ctx.dry_run
    )


@action(
    "system.restore",
    view=VIEW,
    summary="Restore the database from a verified backup (maintenance on meanwhile); the "
    "audit records written since the backup are exported to a file first",
    payload=RestorePayload,
    result=RestoreResult,
    permission="system:write",
    rate_class="critical",
    dangerous=True,
    dependencies=FILES,
)
def system_restore(session: Session, payload: RestorePayload, ctx: ActionContext) -> RestoreResult:
    return restore.restore(
        session,
        runtime=ctx.runtime,
        backup_id=payload.backup_id,
        actor=ctx.actor,
        dry_run=ctx.dry_run,
    )


@action(
    "system.maintenance.enable",
    view=VIEW,
    summary="Maintenance mode: user writes answer 503 with the message; reads, /health and "
    "admin keep working",
    payload=MaintenanceEnablePayload,
    result=MaintenanceState,
    permission="system:write",
    rate_class="critical",
)
def maintenance_enable(
    session: Session, payload: MaintenanceEnablePayload, ctx: ActionContext
) -> MaintenanceState:
    return maintenance.enable(
        session, message=payload.message, retry_after_s=payload.retry_after_s, actor=ctx.actor
    )


@action(
    "system.maintenance.disable",
    view=VIEW,
    summary="Leave maintenance mode",
    payload=NoPayload,
    result=MaintenanceState,
    permission="system:write",
    rate_class="critical",
)
def maintenance_disable(
    session: Session, payload: NoPayload, ctx: ActionContext
) -> MaintenanceState:
    return maintenance.disable(session, actor=ctx.actor)


@action(
    "system.drain",
    view=VIEW,
    summary="Pause the queue and wait until nothing is processing (or the timeout); "
    "returns what is still running",
    payload=DrainPayload,
    result=DrainResult,
    permission="system:write",
    rate_class="critical",
)
def system_drain(session: Session, payload: DrainPayload, ctx: ActionContext) -> DrainResult:
    return operations.drain(session, actor=ctx.actor, timeout_s=payload.timeout_s)


@action(
    "system.db.migrate",
    view=VIEW,
    summary="Apply pending schema migrations",
    payload=NoPayload,
    result=MigrationResult,
    permission="system:write",
    rate_class="critical",
)
def db_migrate(session: Session, payload: NoPayload, ctx: ActionContext) -> MigrationResult:
    session.commit()  # the migration takes its own connection and locks
    return operations.migrate_database(ctx.runtime)


@action(
    "system.db.check",
    view=VIEW,
    summary="Compare the database with the models: tables, columns, indexes, constraints, "
    "triggers and functions; lists the differences",
    payload=NoPayload,
    result=SchemaReport,
    permission="system:read",
    rate_class="critical",
)
def db_check(session: Session, payload: NoPayload, ctx: ActionContext) -> SchemaReport:
    return schema_check.compare(ctx.runtime.engine)


@action(
    "system.db.vacuum",
    view=VIEW,
    summary="VACUUM and ANALYZE the database",
    payload=NoPayload,
    result=VacuumResult,
    permission="system:write",
    rate_class="critical",
)
def db_vacuum(session: Session, payload: NoPayload, ctx: ActionContext) -> VacuumResult:
    session.commit()  # VACUUM cannot run inside a transaction
    return operations.vacuum(ctx.runtime)


@action(
    "system.db.reset_and_seed",
    view=VIEW,
    summary="The recovery procedure in one step: reset the schema, generate seed data, "
    "clear the cache, verify",
    payload=ResetAndSeedPayload,
    result=ResetAndSeedResult,
    permission="system:write",
    rate_class="critical",
    dangerous=True,
    dependencies=FILES,
)
def db_reset_and_seed(
    session: Session, payload: ResetAndSeedPayload, ctx: ActionContext
) -> ResetAndSeedResult:
    engine = ctx.runtime.engine
    result = ResetAndSeedResult(
        dry_run=ctx.dry_run, dialect=engine.dialect.name, rows_now=operations.row_counts(session)
    )
    if ctx.dry_run:
        return result
    session.commit()  # the reset drops every table: this session must hold nothing
    options = SeedOptions(jobs=payload.jobs, events=payload.events)
    result.seed = seed.reset_and_seed(ctx.runtime, options=options)
    return result
