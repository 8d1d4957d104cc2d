"""Receiving one chunk of an upload: checked, made durable, then recorded, then answered.

A chunk costs, in this order, with no database lock held but in the short step 3:
1. under a lock on the chunk (`storage.chunk_region`), one read of the upload row (its
   sizes, that it is open and the caller's) and of the chunk's record;
2. still under the lock, the bytes written at the chunk's offset as they arrived (never
   joined into one buffer), hashed on the way only to check an `X-Chunk-SHA256` the
   client declared, and an `fdatasync`; a chunk received before is compared byte for byte
   with the stored one instead (a duplicate, or a conflict);
3. still under that lock, a unit of work of its own that inserts the chunk row and adds
   its size to the upload (two statements);
4. after the commit, the whole file's running SHA-256 (`hashing`) takes the chunk in.

So a chunk answered 2xx is on stable storage and recorded; a server killed before the
record leaves the chunk missing (the bytes may be there, and are written again).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from agentos.db.base import utcnow
from agentos.db.models import Upload, UploadChunk
from agentos.errors import ConflictError, InvalidError
from agentos.schemas.uploads import ChunkReceipt
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.security import roles
from agentos.services.uploads import hashing, storage
from agentos.services.uploads.sessions import require_open, writable

# A chunk's bytes: one buffer, or the pieces an HTTP body arrived in.
Body = bytes | Sequence[bytes]

# Built once: a statement's cache key is then computed once, not per chunk.
_UPLOAD_AND_CHUNK = (
    select(Upload, UploadChunk.id)
    .outerjoin(
        UploadChunk,
        and_(UploadChunk.upload_id == Upload.id, UploadChunk.chunk_index == bindparam("index")),
    )
    .where(Upload.id == bindparam("upload_id"))
)
_INSERT_CHUNK = insert(UploadChunk)
# One statement: concurrent chunks each add their own size (no lost update), and only to
# an upload still open.
_ADD_BYTES = (
    update(Upload)
    .where(Upload.id == bindparam("upload_id"), Upload.status == "open")
    .values(received_bytes=Upload.received_bytes + bindparam("size"), updated_at=bindparam("now"))
    .returning(Upload.received_bytes)
)


@dataclass(frozen=True)
class _Target:
    """What a chunk request needs of its upload, and whether the chunk is recorded."""

    id: uuid.UUID
    chunk_size: int
    total_size: int
    total_chunks: int
    received_bytes: int
    recorded: bool  # the chunk was received before

    def size_of(self, index: int) -> int:
        if not 0 <= index < self.total_chunks:
            raise InvalidError(
                f"chunk index must be between 0 and {self.total_chunks - 1}",
                code="BAD_CHUNK_INDEX",
            )
        return min(self.chunk_size, self.total_size - index * self.chunk_size)

    def received_chunks(self, received_bytes: int) -> int:
        # Every chunk but the last has chunk_size bytes and the last 1..chunk_size, so the
        # count is the bytes rounded up: one value on the row instead of a count(*).
        return -(-received_bytes // self.chunk_size)


def put_chunk(
    runtime: Runtime,
    *,
    actor: Actor,
    upload_id: uuid.UUID,
    index: int,
    data: Body,
    chunk_sha256: str | None = None,
) -> ChunkReceipt:
    """Store chunk `index` of the upload once (any order; a repeat with the same bytes is
    a duplicate, with other bytes a conflict). `data` is the chunk's bytes, or the pieces
    they arrived in (an HTTP body: they are never joined into one buffer).

    The chunk is recorded in a unit of work of its own, committed only once its bytes are
    on stable storage and while the chunk is locked; the caller must hold no database
    lock (on SQLite it would hold the one write lock, and the chunk needs it), since the
    bytes are received, hashed and written while none is held.
    """
    roles.require_own_write(actor.role, "upload")
    if index < 0:
        raise InvalidError("chunk index must not be negative", code="BAD_CHUNK_INDEX")
    pieces = [data] if isinstance(data, bytes) else data
    size = sum(map(len, pieces))
    try:
        with storage.chunk_region(runtime.settings, upload_id, index) as part:
            target = _read(runtime, actor=actor, upload_id=upload_id, index=index)
            _require_size(target, index, size)
            if target.recorded:
                _require_same(runtime, target, index, pieces, chunk_sha256)
                received_bytes = target.received_bytes
            else:
                received_bytes = _store(runtime, target, part, index, pieces, chunk_sha256)
    except FileNotFoundError:
        # No part file: no such upload (or another user's), or it closed since.
        with runtime.read_session() as reading:
            require_open(reading, actor=actor, upload_id=upload_id)
        raise ConflictError("the upload is no longer open", code="UPLOAD_NOT_OPEN") from None
    except IntegrityError:
        # Recorded meanwhile by a process the lock could not see (no OFD locks).
        target = _read(runtime, actor=actor, upload_id=upload_id, index=index)
        _require_same(runtime, target, index, pieces, chunk_sha256)
        received_bytes = target.received_bytes
    if not target.recorded:
        state = hashing.of(runtime).get(target.id)
        if state is not None:
            state.advance(index, pieces, lambda later: _read_chunk(runtime, target, later))
    return ChunkReceipt(
        upload_id=target.id,
        index=index,
        size=size,
        duplicate=target.recorded,
        received_chunks=target.received_chunks(received_bytes),
        total_chunks=target.total_chunks,
    )


def _store(
    runtime: Runtime,
    target: _Target,
    part: int,
    index: int,
    pieces: Sequence[bytes],
    chunk_sha256: str | None,
) -> int:
    """Write the chunk, durably, and record it; the upload's received bytes after it. Its
    SHA-256 is computed (while writing) only to check one the client declared."""
    digest = None if chunk_sha256 is None else hashlib.sha256()
    storage.write_durably(part, pieces, index * target.chunk_size, digest=digest)
    checked = None
    if digest is not None and chunk_sha256 is not None:
        # Compared after the write: the chunk is recorded only if it matches, and bytes no
        # record stands for are written again by the chunk that is.
        checked = digest.hexdigest()
        _check(index, checked, chunk_sha256)
    return _record(runtime, target.id, index, sum(map(len, pieces)), checked)


def _require_same(
    runtime: Runtime,
    target: _Target,
    index: int,
    pieces: Sequence[bytes],
    chunk_sha256: str | None,
) -> None:
    """A chunk received before, sent again: its bytes compared with the stored ones (a
    rare path, so a read of the chunk costs less than hashing every chunk on arrival)."""
    if chunk_sha256 is not None:
        _check(index, _sha256(pieces), chunk_sha256)
    offset = index * target.chunk_size
    if not storage.holds(runtime.settings, target.id, offset, pieces):
        raise ConflictError(
            f"chunk {index} was already received with different content",
            code="CHUNK_CONFLICT",
        )


def _read(runtime: Runtime, *, actor: Actor, upload_id: uuid.UUID, index: int) -> _Target:
    """The upload (which the actor may write to) and the chunk's record, in one read."""
    with runtime.read_session() as reading:
        row = reading.execute(_UPLOAD_AND_CHUNK, {"upload_id": upload_id, "index": index}).first()
        upload = writable(None if row is None else row[0], actor=actor, upload_id=upload_id)
        return _Target(
            id=upload.id,
            chunk_size=upload.chunk_size,
            total_size=upload.total_size,
            total_chunks=upload.total_chunks,
            received_bytes=upload.received_bytes,
            recorded=row is not None and row[1] is not None,
        )


def _require_size(target: _Target, index: int, size: int) -> None:
    expected = target.size_of(index)
    if size != expected:
        raise InvalidError(
            f"chunk {index} must be {expected} bytes, got {size}", code="BAD_CHUNK_SIZE"
        )


def _check(index: int, digest: str, chunk_sha256: str) -> None:
    if digest != chunk_sha256.lower():
        raise InvalidError(f"chunk {index} checksum mismatch", code="CHUNK_CHECKSUM_MISMATCH")


def _sha256(pieces: Sequence[bytes]) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


def _record(
    runtime: Runtime, upload_id: uuid.UUID, index: int, size: int, digest: str | None
) -> int:
    """Insert the chunk row and add its bytes to the still-open upload, in one short unit
    of work (plain statements on its connection: no ORM bookkeeping per chunk); the
    upload's received bytes after it."""
    with runtime.session() as writing:
        connection = writing.connection()
        row = {"upload_id": upload_id, "chunk_index": index, "size": size, "sha256": digest}
        connection.execute(_INSERT_CHUNK, row)
        added = {"upload_id": upload_id, "size": size, "now": utcnow()}
        received = connection.execute(_ADD_BYTES, added).scalar_one_or_none()
        if received is None:
            raise ConflictError("the upload is no longer open", code="UPLOAD_NOT_OPEN")
    return int(received)


def _read_chunk(runtime: Runtime, target: _Target, index: int) -> Iterable[bytes]:
    return storage.read_range(
        runtime.settings,
        target.id,
        offset=index * target.chunk_size,
        length=target.size_of(index),
    )
