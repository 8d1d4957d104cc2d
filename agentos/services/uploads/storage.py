"""Files behind upload sessions: chunks are written in place, so nothing is assembled in memory."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path

from agentos.errors import InvalidError, UnavailableError
from agentos.settings import Settings

PART_NAME = "data.part"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_READ_BLOCK = 1024 * 1024


def sanitize_filename(name: str) -> str:
    """A plain file name: no directories, no traversal, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base)
    base = _UNSAFE.sub("_", base).strip(" .")
    if not base:
        raise InvalidError("filename has no usable characters", code="INVALID_FILENAME")
    return base[:200]


def session_dir(settings: Settings, upload_id: uuid.UUID) -> Path:
    return settings.uploads_dir / str(upload_id)


def part_path(settings: Settings, upload_id: uuid.UUID) -> Path:
    return session_dir(settings, upload_id) / PART_NAME


def require_free_space(settings: Settings, needed: int) -> None:
    settings.ensure_home()
    free = shutil.disk_usage(settings.uploads_dir).free
    if free < needed + settings.upload_free_space_margin_bytes:
        raise UnavailableError(
            f"not enough free disk space for {needed} bytes ({free} free)",
            code="INSUFFICIENT_STORAGE",
        )


def create_part(settings: Settings, upload_id: uuid.UUID, total_size: int) -> None:
    directory = session_dir(settings, upload_id)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / PART_NAME, "wb") as handle:
        handle.truncate(total_size)


def write_chunk(settings: Settings, upload_id: uuid.UUID, *, offset: int, data: bytes) -> None:
    descriptor = os.open(part_path(settings, upload_id), os.O_WRONLY)
    try:
        os.pwrite(descriptor, data, offset)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def promote(settings: Settings, upload_id: uuid.UUID, filename: str) -> Path:
    """Give the verified part its final name (atomic rename in the same directory)."""
    final = session_dir(settings, upload_id) / filename
    os.replace(part_path(settings, upload_id), final)
    return final


def remove_session_files(settings: Settings, upload_id: uuid.UUID) -> None:
    shutil.rmtree(session_dir(settings, upload_id), ignore_errors=True)
