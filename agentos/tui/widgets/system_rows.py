"""What the System view shows: table rows, status lines and the questions its dangerous
keys ask (plain text; no Textual, no fetching)."""

from __future__ import annotations

from rich.text import Text

from agentos.schemas.actions import BreakerRead
from agentos.schemas.health import MaintenanceState
from agentos.schemas.system import BackupRead, StorageCleanupResult, StorageUsage
from agentos.tui.widgets import health

BACKUP_COLUMNS = ("label", "kind", "size", "age", "sha256", "schema", "verified")
BREAKER_COLUMNS = ("breaker", "state", "failures", "opened at", "forced")
STORAGE_COLUMNS = ("area", "files", "size", "path")
STORAGE_AREAS = ("uploads", "clips", "thumbnails", "backups")
BREAKER_STYLES = {"closed": "green", "open": "bold red", "half_open": "bold yellow"}
LOW_DISK = 0.10
CLEANUP_SHOWN = 12
PATH_SHOWN = 72


def backup_name(backup: BackupRead) -> str:
    return backup.label or str(backup.id)[:8]


def backup_age(backup: BackupRead, now: float) -> str:
    taken = backup.finished_at or backup.started_at
    return "-" if taken is None else health.duration(max(0.0, now - taken.timestamp()))


def backup_row(backup: BackupRead, now: float) -> tuple[object, ...]:
    if not backup.file_present:
        verified: Text | str = Text("file missing", style="bold red")
    elif backup.verified_at is None:
        verified = Text("no", style="yellow")
    else:
        verified = Text(health.when(backup.verified_at), style="green")
    return (
        backup_name(backup),
        backup.kind,
        health.size(backup.size_bytes),
        backup_age(backup, now),
        backup.sha256[:12],
        (backup.schema_revision or "-")[:12],
        verified,
    )


def breaker_row(breaker: BreakerRead) -> tuple[object, ...]:
    return (
        breaker.name,
        Text(breaker.state, style=BREAKER_STYLES.get(breaker.state, "")),
        str(breaker.failures),
        health.when(breaker.opened_at),
        Text("forced", style="bold") if breaker.forced else "",
    )


def storage_rows(usage: StorageUsage) -> list[tuple[str, tuple[object, ...]]]:
    names = [name for name in STORAGE_AREAS if name in usage.areas]
    names += sorted(set(usage.areas) - set(STORAGE_AREAS))
    return [
        (name, (name, str(area.files), health.size(area.bytes), area.path))
        for name in names
        for area in [usage.areas[name]]
    ]


def storage_line(usage: StorageUsage) -> Text:
    share = usage.disk_free_bytes / usage.disk_total_bytes if usage.disk_total_bytes else 0.0
    return Text.assemble(
        f"in use {health.size(usage.total_bytes)}  ·  free disk ",
        (
            f"{health.size(usage.disk_free_bytes)} of {health.size(usage.disk_total_bytes)} "
            f"({share:.0%})",
            "bold red" if share < LOW_DISK else "green",
        ),
    )


def maintenance_line(state: MaintenanceState) -> Text:
    if not state.enabled:
        return Text.assemble(
            ("Maintenance off", "bold green"), ("  ·  user writes are accepted", "dim")
        )
    since = f"since {health.when(state.since)}" if state.since else ""
    by = f"by {state.by}" if state.by else ""
    retry = f"Retry-After {state.retry_after_s} s" if state.retry_after_s else ""
    detail = "  ·  ".join(part for part in (since, by, retry) if part)
    return Text.assemble(
        (" MAINTENANCE ON ", "bold white on red"),
        f"  {state.message or 'maintenance'}",
        (f"  ·  {detail}" if detail else "", "dim"),
        ("  ·  user writes answer 503", "dim"),
    )


def restore_question(backup: BackupRead, now: float) -> str:
    unverified = "" if backup.verified_at else "\nIt has not been verified yet (v)."
    return (
        f"Restore the database from backup {backup_name(backup)} "
        f"({health.size(backup.size_bytes)}, {backup_age(backup, now)} old, schema "
        f"{backup.schema_revision or '-'})?\nEverything written since then is replaced. "
        "Maintenance mode is on while it runs; the audit records written since the backup "
        f"are exported to a file first.{unverified}"
    )


def delete_question(backup: BackupRead) -> str:
    return (
        f"Delete backup {backup_name(backup)} ({health.size(backup.size_bytes)}, "
        f"{backup.path})? Its file, sidecar and catalog row are removed."
    )


def trip_question(breaker: BreakerRead) -> str:
    return (
        f"Force the {breaker.name} breaker OPEN in every process? Calls that need "
        f"{breaker.name} fail at once until it is reset (C)."
    )


def cleanup_question(result: StorageCleanupResult, days: int) -> str:
    """The dry run's answer as the confirmation text: what would go, and how much."""
    lines = [
        f"Files untouched for {days} days that no row accounts for: {len(result.files)} "
        f"({health.size(result.bytes_freed)}); upload sessions to expire: "
        f"{result.expired_uploads}."
    ]
    lines += [
        f"  {_short(item.path)}  {health.size(item.bytes)}  ({item.reason})"
        for item in result.files[:CLEANUP_SHOWN]
    ]
    if len(result.files) > CLEANUP_SHOWN:
        lines.append(f"  … and {len(result.files) - CLEANUP_SHOWN} more")
    lines.append("Remove them now?")
    return "\n".join(lines)


def _short(path: str) -> str:
    return path if len(path) <= PATH_SHOWN else "…" + path[-(PATH_SHOWN - 1) :]
