"""Files behind upload sessions: chunks are written in place, so nothing is assembled in memory.

Durability: the part file and its directory are flushed when the session opens, and a
chunk's bytes are flushed (`fdatasync`) before the chunk is recorded, so a chunk the
server acknowledged survives a crash of the process or of the machine.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import struct
import threading
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from agentos.errors import UnavailableError
from agentos.settings import Settings

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

PART_NAME = "data.part"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_READ_BLOCK = 1024 * 1024
_WRITE_BATCH = 128 * 1024  # stays in the CPU's cache between hashing and writing
# Linux's open-file-description locks: held per descriptor (so threads of one process
# exclude each other too) and dropped by the kernel when the process dies.
_OFD_SETLKW: int | None = getattr(fcntl, "F_OFD_SETLKW", None)
_FLOCK = "hhqqi4x"  # struct flock: type, whence, start, len, pid (0 for OFD locks)


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
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    # Once here, so that a chunk's own flush is all it needs: the file's name and size
    # already survive a crash.
    _sync_directory(directory)
    _sync_directory(settings.uploads_dir)


@contextmanager
def chunk_region(settings: Settings, upload_id: uuid.UUID, index: int) -> Iterator[int]:
    """The part file open for writing, chunk `index` locked against every other writer of
    it (threads and processes) until the block ends. A chunk is checked, written and
    recorded inside the block, so two bodies for one chunk can never interleave their
    bytes or leave the file disagreeing with the recorded checksum.

    The lock is on byte `index` of the file, whatever the chunk's offset: the locks are
    advisory, and so they need no sizes that only the database knows."""
    with _region_lock(upload_id, index):
        descriptor = os.open(part_path(settings, upload_id), os.O_WRONLY)
        try:
            if _OFD_SETLKW is not None:
                lock = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, index, 1, 0)
                fcntl.fcntl(descriptor, _OFD_SETLKW, lock)
            yield descriptor
        finally:
            os.close(descriptor)  # also releases the OFD lock


_regions: dict[tuple[uuid.UUID, int], tuple[threading.Lock, int]] = {}
_regions_guard = threading.Lock()


@contextmanager
def _region_lock(upload_id: uuid.UUID, index: int) -> Iterator[None]:
    """Where the kernel has no OFD locks: the same exclusion, for this process only."""
    if _OFD_SETLKW is not None:
        yield
        return
    key = (upload_id, index)
    with _regions_guard:
        lock, users = _regions.get(key, (threading.Lock(), 0))
        _regions[key] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _regions_guard:  # the entry lives while anyone holds or waits for the lock
            lock, users = _regions[key]
            if users == 1:
                del _regions[key]
            else:
                _regions[key] = (lock, users - 1)


def write_durably(
    descriptor: int, pieces: Sequence[bytes], offset: int, *, digest: Hash | None = None
) -> None:
    """Write the pieces one after the other from `offset` and flush them to stable storage,
    never gathered into one buffer; `digest`, when given, takes them in on the way, a batch
    at a time, so each byte is read again while still in the CPU's cache."""
    for batch in _batches(pieces):
        if digest is not None:
            for piece in batch:
                digest.update(piece)  # releases the GIL
        offset = _write_all(descriptor, batch, offset)
    os.fdatasync(descriptor)


def holds(settings: Settings, upload_id: uuid.UUID, offset: int, pieces: Sequence[bytes]) -> bool:
    """Whether the part holds exactly these bytes from `offset` (a chunk sent again)."""
    descriptor = os.open(part_path(settings, upload_id), os.O_RDONLY)
    try:
        for piece in pieces:
            if os.pread(descriptor, len(piece), offset) != piece:
                return False
            offset += len(piece)
        return True
    finally:
        os.close(descriptor)


def _batches(pieces: Sequence[bytes]) -> Iterator[list[memoryview]]:
    batch: list[memoryview] = []
    size = 0
    for piece in pieces:
        for start in range(0, len(piece), _WRITE_BATCH):  # a big piece in slices
            view = memoryview(piece)[start : start + _WRITE_BATCH]
            batch.append(view)
            size += len(view)
            if size >= _WRITE_BATCH:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


def _write_all(descriptor: int, views: list[memoryview], offset: int) -> int:
    while views:
        written = os.pwritev(descriptor, views, offset)  # may write less than asked
        offset += written
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if views and written:
            views[0] = views[0][written:]
    return offset


def file_sha256(path: Path, *, start: int = 0, digest: Hash | None = None) -> str:
    """The SHA-256 of the file, or of a file whose first `start` bytes `digest` has
    already taken in (it is updated in place)."""
    digest = hashlib.sha256() if digest is None else digest
    with open(path, "rb") as handle:
        handle.seek(start)
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def read_range(
    settings: Settings, upload_id: uuid.UUID, *, offset: int, length: int
) -> Iterator[bytes]:
    """The part's bytes [offset, offset + length), a block at a time."""
    descriptor = os.open(part_path(settings, upload_id), os.O_RDONLY)
    try:
        end = offset + length
        while offset < end:
            block = os.pread(descriptor, min(_READ_BLOCK, end - offset), offset)
            if not block:
                raise OSError(f"the part of upload {upload_id} ends at {offset}, before {end}")
            offset += len(block)
            yield block
    finally:
        os.close(descriptor)


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
        _sync_directory(final.parent)  # the name the job will use survives a crash
    return final


def discard_part(settings: Settings, upload_id: uuid.UUID) -> None:
    part_path(settings, upload_id).unlink(missing_ok=True)


def remove_session_files(settings: Settings, upload_id: uuid.UUID) -> None:
    shutil.rmtree(session_dir(settings, upload_id), ignore_errors=True)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
