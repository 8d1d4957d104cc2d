"""Ingest: verify an upload's checksum and put it in storage, atomically and idempotently."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from agentos.errors import InvalidError
from agentos.media._common import (
    Checkpoint,
    ProgressCallback,
    StopCheck,
    atomic_output,
    fraction_of,
    never_stop,
)
from agentos.schemas.media import IngestResult

_CHUNK = 1 << 20


def _hash_stream(
    src: BinaryIO, total: int, checkpoint: Checkpoint, copy_to: BinaryIO | None = None
) -> str:
    digest = hashlib.sha256()
    done = 0
    while chunk := src.read(_CHUNK):
        digest.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
        done += len(chunk)
        checkpoint.tick(fraction_of(done, total))
    return digest.hexdigest()


def sha256_file(path: Path, *, should_stop: StopCheck = never_stop) -> str:
    """Streaming sha256 of a file (never read whole)."""
    checkpoint = Checkpoint(should_stop)
    with path.open("rb") as handle:
        return _hash_stream(handle, path.stat().st_size, checkpoint)


def _verify(actual: str, expected: str | None, what: Path) -> None:
    if expected is not None and actual != expected.lower():
        raise InvalidError(
            f"Checksum mismatch for {what.name}: expected {expected}, got {actual}",
            code="CHECKSUM_MISMATCH",
            details={"expected": expected, "actual": actual},
        )


def _copy_verified(source: Path, dest: Path, expected: str | None, checkpoint: Checkpoint) -> str:
    """Copy while hashing in one pass; the copy appears under `dest` only if it verifies."""
    with atomic_output(dest) as tmp:
        with source.open("rb") as src, tmp.open("wb") as out:
            digest = _hash_stream(src, source.stat().st_size, checkpoint, copy_to=out)
            out.flush()
            os.fsync(out.fileno())
        _verify(digest, expected, source)
    return digest


def _already_present(dest: Path, expected: str | None, checkpoint: Checkpoint) -> str | None:
    """The checksum of `dest` if a previous delivery left the right file there."""
    if not dest.is_file() or expected is None:
        return None
    with dest.open("rb") as handle:
        digest = _hash_stream(handle, dest.stat().st_size, checkpoint)
    return digest if digest == expected.lower() else None


def ingest(
    source: Path,
    *,
    dest_dir: Path,
    expected_sha256: str | None,
    should_stop: StopCheck = never_stop,
    on_progress: ProgressCallback | None = None,
    dest_name: str | None = None,
    move: bool = True,
) -> IngestResult:
    """Verify `source` against `expected_sha256` and move (or copy) it into `dest_dir`.

    Idempotent: when the destination already holds the right bytes nothing is rewritten
    (and a leftover source is removed when moving). Without an expected checksum a present
    destination cannot be trusted, so the source is taken again.
    """
    checkpoint = Checkpoint(should_stop, on_progress)
    dest = dest_dir / (dest_name or source.name)
    dest_dir.mkdir(parents=True, exist_ok=True)
    present = _already_present(dest, expected_sha256, checkpoint)
    if present is not None:
        if move and source.exists() and source.resolve() != dest.resolve():
            source.unlink()
        checkpoint.done()
        return IngestResult(
            path=str(dest), sha256=present, size_bytes=dest.stat().st_size, action="present"
        )
    if not source.is_file():
        raise InvalidError(f"Upload file is missing: {source}", code="SOURCE_MISSING")
    if not move:
        digest = _copy_verified(source, dest, expected_sha256, checkpoint)
    else:
        digest = _move_verified(source, dest, expected_sha256, checkpoint)
    checkpoint.done()
    return IngestResult(
        path=str(dest),
        sha256=digest,
        size_bytes=dest.stat().st_size,
        action="moved" if move else "copied",
    )


def _move_verified(source: Path, dest: Path, expected: str | None, checkpoint: Checkpoint) -> str:
    with source.open("rb") as handle:
        digest = _hash_stream(handle, source.stat().st_size, checkpoint)
    _verify(digest, expected, source)
    try:
        os.replace(source, dest)  # same file system: one atomic rename
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # Another file system: copy under a temp name, verify again, then drop the source.
        digest = _copy_verified(source, dest, expected or digest, checkpoint)
        with contextlib.suppress(FileNotFoundError):
            source.unlink()
    return digest


__all__ = ["ingest", "sha256_file"]
