"""Disk use under the home (uploads, clips, thumbnails, backups) and its clean-up.

Orphans are what no row accounts for: an entry of uploads/ that is neither an upload
session still open or finalized nor the source of any job; a folder of clips/ whose job
is gone, or a file in the folder of a finished job that none of its clips names; a
`.partial` file left in backups/ by an interrupted backup. Only entries untouched for
`older_than_days` are considered, so work in progress is never taken for an orphan.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Clip, Job, Upload
from agentos.schemas.jobs import JobStatus
from agentos.schemas.system import (
    StorageArea,
    StorageCleanupResult,
    StorageItem,
    StorageUsage,
)
from agentos.services.outbox import after_commit
from agentos.services.uploads import sessions
from agentos.settings import Settings

THUMBNAIL_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
LIVE_UPLOADS = ("open", "finalized")
DAY_S = 86_400


def _files(root: Path) -> Iterator[os.DirEntry[str]]:
    if not root.is_dir():
        return
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield entry


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(entry.stat(follow_symlinks=False).st_size for entry in _files(path))


def usage(settings: Settings) -> StorageUsage:
    areas = {
        name: StorageArea(path=str(path), files=0, bytes=0)
        for name, path in (
            ("uploads", settings.uploads_dir),
            ("clips", settings.clips_dir),
            ("thumbnails", settings.clips_dir),
            ("backups", settings.backups_dir),
        )
    }
    for name, root in (
        ("uploads", settings.uploads_dir),
        ("clips", settings.clips_dir),
        ("backups", settings.backups_dir),
    ):
        for entry in _files(root):
            area = name
            if name == "clips" and entry.name.lower().endswith(THUMBNAIL_SUFFIXES):
                area = "thumbnails"
            areas[area].files += 1
            areas[area].bytes += entry.stat(follow_symlinks=False).st_size
    settings.ensure_home()
    disk = shutil.disk_usage(settings.home_dir)
    return StorageUsage(
        areas=areas,
        total_bytes=sum(area.bytes for area in areas.values()),
        disk_free_bytes=disk.free,
        disk_total_bytes=disk.total,
    )


def _old(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except OSError:
        return False


def _as_uuid(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name)
    except ValueError:
        return None


def _is_job_source(session: Session, path: Path) -> bool:
    prefix = str(path)
    return bool(
        session.scalar(
            select(
                exists().where(
                    or_(Job.source_path == prefix, Job.source_path.startswith(prefix + os.sep))
                )
            )
        )
    )


def _upload_orphans(session: Session, settings: Settings, cutoff: float) -> list[StorageItem]:
    root = settings.uploads_dir
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if not _old(entry, cutoff):
            continue
        upload_id = _as_uuid(entry.name)
        upload = session.get(Upload, upload_id) if upload_id else None
        if upload is not None and upload.status in LIVE_UPLOADS:
            continue
        if _is_job_source(session, entry):
            continue
        reason = "upload session aborted" if upload is not None else "no upload session or job"
        found.append(StorageItem(path=str(entry), bytes=_size(entry), reason=reason))
    return found


def _clip_orphans(session: Session, settings: Settings, cutoff: float) -> list[StorageItem]:
    root = settings.clips_dir
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        job_id = _as_uuid(entry.name)
        job = session.get(Job, job_id) if job_id else None
        if job is None:
            if _old(entry, cutoff):
                found.append(StorageItem(path=str(entry), bytes=_size(entry), reason="job gone"))
            continue
        if job.status not in JobStatus.TERMINAL or not entry.is_dir():
            continue
        named = {
            path
            for row in session.execute(
                select(Clip.path, Clip.thumbnail_path).where(Clip.job_id == job.id)
            )
            for path in row
            if path
        }
        for item in sorted(entry.iterdir()):
            if item.is_file() and str(item) not in named and _old(item, cutoff):
                found.append(
                    StorageItem(
                        path=str(item), bytes=item.stat().st_size, reason="no clip names it"
                    )
                )
    return found


def _backup_leftovers(settings: Settings, cutoff: float) -> list[StorageItem]:
    root = settings.backups_dir
    if not root.is_dir():
        return []
    return [
        StorageItem(path=str(item), bytes=item.stat().st_size, reason="interrupted backup")
        for item in sorted(root.glob("*.partial"))
        if _old(item, cutoff)
    ]


def cleanup(
    session: Session, *, settings: Settings, older_than_days: int, dry_run: bool
) -> StorageCleanupResult:
    """Remove orphaned files and expire upload sessions past their lifetime; `dry_run` lists."""
    cutoff = time.time() - older_than_days * DAY_S
    items = [
        *_upload_orphans(session, settings, cutoff),
        *_clip_orphans(session, settings, cutoff),
        *_backup_leftovers(settings, cutoff),
    ]
    expired = _expired_sessions(session, settings)
    if not dry_run:
        sessions.abort_stale(session, older_than_s=settings.upload_session_ttl_s)
        paths = [Path(item.path) for item in items]
        after_commit(session, lambda: _remove(paths))
    return StorageCleanupResult(
        files=items,
        expired_uploads=expired,
        bytes_freed=sum(item.bytes for item in items),
        dry_run=dry_run,
    )


def _expired_sessions(session: Session, settings: Settings) -> int:
    cutoff = utcnow() - timedelta(seconds=settings.upload_session_ttl_s)
    query = select(func.count()).where(Upload.status == "open", Upload.updated_at < cutoff)
    return int(session.scalar(query) or 0)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
