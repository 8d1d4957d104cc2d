"""Files behind upload sessions: chunks are written in place, so nothing is assembled in memory."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path

from agentos.errors import UnavailableError
from agentos.settings import Settings

PART_NAME = "data.part"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_READ_BLOCK = 1024 * 1024


# What a name with nothing usable left (say "../") is stored as: the name is a label, so
# any string the schema allows is accepted.
FALLBACK_NAME = "upload"


def sanitize_filename(name: str) -> str:
    """A plain file name: no directories, no traversal, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base)
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[:200] or FALLBACK_NAME


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
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Uploads are the users' files: readable by this service only.
    descriptor = os.open(directory / PART_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(descriptor, total_size)
    finally:
        os.close(descriptor)


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


def assembled(settings: Settings, upload_id: uuid.UUID, filename: str) -> Path:
    """The file holding the upload's bytes: the part while it is open, or (a finalize that
    stopped between its commit and its clean-up) the final name."""
    part = part_path(settings, upload_id)
    final = session_dir(settings, upload_id) / filename
    return part if part.exists() or not final.exists() else final


def promote(settings: Settings, upload_id: uuid.UUID, filename: str) -> Path:
    """Give the verified bytes their final name as a second link to the part, so a finalize
    whose transaction fails leaves the part in place and can simply run again; the part
    goes once the transaction has committed (`discard_part`)."""
    final = session_dir(settings, upload_id) / filename
    part = part_path(settings, upload_id)
    if not part.exists():
        return final  # already promoted by a finalize that committed
    if final.exists() and not os.path.samefile(part, final):
        final.unlink()
    if not final.exists():
        os.link(part, final)
    return final


def discard_part(settings: Settings, upload_id: uuid.UUID) -> None:
    part_path(settings, upload_id).unlink(missing_ok=True)


def remove_session_files(settings: Settings, upload_id: uuid.UUID) -> None:
    shutil.rmtree(session_dir(settings, upload_id), ignore_errors=True)
