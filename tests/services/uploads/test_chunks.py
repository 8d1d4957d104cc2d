"""Receiving chunks (services/uploads/chunks.py) on both deployments: any order, repeats,
two bodies for one chunk at once, durability before the record, and the whole file's
SHA-256 taken in on the way (finalize reads only what that running digest missed)."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentos.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from agentos.schemas.uploads import ChunkReceipt, UploadFinalize, UploadInit, UploadRead
from agentos.services import uploads
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.uploads import hashing, storage
from agentos.settings import Settings
from tests.support.jobs import make_actor

CHUNK = 64 * 1024
DATA = os.urandom(CHUNK * 3 + 1000)  # four chunks, the last one short


def _open(runtime: Runtime, data: bytes = DATA) -> tuple[Actor, UploadRead]:
    with runtime.session() as session:
        actor = make_actor(session)
        request = UploadInit(
            filename="film.mp4",
            total_size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            chunk_size=CHUNK,
        )
        return actor, uploads.init(session, actor=actor, request=request)


def _piece(data: bytes, index: int) -> bytes:
    return data[index * CHUNK : (index + 1) * CHUNK]


def _put(
    runtime: Runtime,
    actor: Actor,
    upload: UploadRead,
    index: int,
    data: bytes = DATA,
    *,
    sha256: str | None = None,
) -> ChunkReceipt:
    piece = _piece(data, index)
    # As an HTTP body arrives: in pieces, never joined.
    pieces = [piece[start : start + 1000] for start in range(0, len(piece), 1000)]
    return uploads.put_chunk(
        runtime, actor=actor, upload_id=upload.id, index=index, data=pieces, chunk_sha256=sha256
    )


def _finalize(runtime: Runtime, actor: Actor, upload: UploadRead) -> Path:
    with runtime.session() as session:
        request = UploadFinalize(upload_id=upload.id, create_job=False)
        done = uploads.finalize(session, actor=actor, request=request)
    assert done.upload.status == "finalized"
    return storage.session_dir(runtime.settings, upload.id) / upload.filename


def _missing(runtime: Runtime, actor: Actor, upload: UploadRead) -> list[int]:
    with runtime.session() as session:
        return uploads.status(session, actor=actor, upload_id=upload.id).missing_chunks


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Where each finalize started reading the file (its size: nothing read)."""
    starts: list[int] = []
    real = storage.file_sha256

    def spy(path: Path, *, start: int = 0, digest: Any = None) -> str:
        starts.append(start)
        return real(path, start=start, digest=digest)

    monkeypatch.setattr(storage, "file_sha256", spy)
    return starts


def test_chunks_in_any_order_make_the_file_and_finalize_reads_none_of_it(
    runtime: Runtime, reads: list[int]
) -> None:
    actor, upload = _open(runtime)
    for index in (3, 1, 0, 2):
        receipt = _put(runtime, actor, upload, index)
        assert not receipt.duplicate
    assert receipt.received_chunks == 4
    path = _finalize(runtime, actor, upload)
    assert path.read_bytes() == DATA
    assert reads == [len(DATA)]  # the running SHA-256 had taken in every byte


def test_with_no_memory_to_spare_chunks_are_read_back_for_the_running_sha256(
    settings: Settings,
    make_runtime: Callable[[Settings], Runtime],
    monkeypatch: pytest.MonkeyPatch,
    reads: list[int],
) -> None:
    monkeypatch.setattr(hashing, "QUEUE_BUDGET_BYTES", 0)  # before the runtime builds its states
    runtime = make_runtime(settings)
    actor, upload = _open(runtime)
    for index in (2, 3, 1, 0):
        _put(runtime, actor, upload, index)
    assert _finalize(runtime, actor, upload).read_bytes() == DATA
    assert reads == [len(DATA)]


def test_a_wrong_file_is_refused_by_the_running_sha256(runtime: Runtime) -> None:
    actor, upload = _open(runtime, DATA)
    other = bytes(reversed(DATA))
    for index in range(4):
        _put(runtime, actor, upload, index, other)
    with pytest.raises(InvalidError) as refused:
        _finalize(runtime, actor, upload)
    assert refused.value.code == "CHECKSUM_MISMATCH"


@pytest.mark.parametrize("finalized_by", ["opener", "restarted"])
def test_an_upload_resumed_in_another_process_reads_only_what_it_missed(
    runtime: Runtime,
    make_runtime: Callable[[Settings], Runtime],
    reads: list[int],
    finalized_by: str,
) -> None:
    """The process that opened the upload took in chunks 0 and 1; the rest came through a
    restarted server (no running digest): a finalize reads from where the digest stops."""
    actor, upload = _open(runtime)
    for index in (0, 1):
        _put(runtime, actor, upload, index)
    restarted = make_runtime(runtime.settings)
    for index in (2, 3):
        _put(restarted, actor, upload, index)
    finalizer = runtime if finalized_by == "opener" else restarted
    path = _finalize(finalizer, actor, upload)
    assert path.read_bytes() == DATA
    assert reads == ([2 * CHUNK] if finalized_by == "opener" else [0])


def test_a_chunk_sent_again_is_a_duplicate_and_other_bytes_a_conflict(runtime: Runtime) -> None:
    actor, upload = _open(runtime)
    assert not _put(runtime, actor, upload, 1).duplicate
    again = _put(runtime, actor, upload, 1)
    assert again.duplicate
    assert again.received_chunks == 1
    declared = hashlib.sha256(_piece(DATA, 1)).hexdigest()
    assert _put(runtime, actor, upload, 1, sha256=declared).duplicate
    changed = bytes(reversed(DATA))  # told apart by its bytes: no checksum was declared
    with pytest.raises(ConflictError) as conflict:
        _put(runtime, actor, upload, 1, changed)
    assert conflict.value.code == "CHUNK_CONFLICT"
    with pytest.raises(InvalidError) as mismatch:
        _put(runtime, actor, upload, 1, sha256="0" * 64)
    assert mismatch.value.code == "CHUNK_CHECKSUM_MISMATCH"
    for index in (0, 2, 3):
        _put(runtime, actor, upload, index)
    assert _finalize(runtime, actor, upload).read_bytes() == DATA


def test_a_checksum_mismatch_records_nothing_and_the_right_bytes_then_are(
    runtime: Runtime,
) -> None:
    actor, upload = _open(runtime)
    with pytest.raises(InvalidError) as mismatch:
        _put(runtime, actor, upload, 0, bytes(reversed(DATA)), sha256="0" * 64)
    assert mismatch.value.code == "CHUNK_CHECKSUM_MISMATCH"
    assert _missing(runtime, actor, upload) == [0, 1, 2, 3]
    for index in range(4):
        declared = hashlib.sha256(_piece(DATA, index)).hexdigest()
        assert not _put(runtime, actor, upload, index, sha256=declared).duplicate
    assert _finalize(runtime, actor, upload).read_bytes() == DATA


def test_a_chunk_is_recorded_only_once_its_bytes_are_flushed(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor, upload = _open(runtime)

    def failing_flush(_descriptor: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(storage.os, "fdatasync", failing_flush)
    with pytest.raises(OSError):
        _put(runtime, actor, upload, 0)
    assert _missing(runtime, actor, upload) == [0, 1, 2, 3]
    monkeypatch.undo()
    for index in range(4):
        _put(runtime, actor, upload, index)
    assert _finalize(runtime, actor, upload).read_bytes() == DATA


@pytest.fixture(params=["ofd", "in-process"])
def chunk_lock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's open-file-description locks, or the fallback where there are none."""
    if request.param == "in-process":
        monkeypatch.setattr(storage, "_OFD_SETLKW", None)


def test_two_bodies_for_one_chunk_at_once_never_mix(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, chunk_lock: None
) -> None:
    """The first body is held inside its write; the second, other bytes for the same
    chunk, must wait for it, then be refused: the file holds the first body only."""
    actor, upload = _open(runtime)
    first, second = DATA, bytes(reversed(DATA))
    writing, release = threading.Event(), threading.Event()
    real_write = storage.write_durably

    def held(descriptor: int, pieces: Any, offset: int, **kwargs: Any) -> None:
        if pieces[0] == _piece(first, 2)[:1000]:
            writing.set()
            assert release.wait(30), "the test never released the first body"
        real_write(descriptor, pieces, offset, **kwargs)

    monkeypatch.setattr(storage, "write_durably", held)
    outcomes: dict[str, object] = {}

    def send(name: str, data: bytes) -> None:
        try:
            outcomes[name] = _put(runtime, actor, upload, 2, data)
        except ConflictError as error:
            outcomes[name] = error.code

    one = threading.Thread(target=send, args=("first", first))
    one.start()
    assert writing.wait(30)
    two = threading.Thread(target=send, args=("second", second))
    two.start()
    release.set()
    one.join(30)
    two.join(30)
    assert isinstance(outcomes["first"], ChunkReceipt)
    assert not outcomes["first"].duplicate
    assert outcomes["second"] == "CHUNK_CONFLICT"
    for index in (0, 1, 3):
        _put(runtime, actor, upload, index)
    assert _finalize(runtime, actor, upload).read_bytes() == DATA


def test_refused_chunks(runtime: Runtime) -> None:
    actor, upload = _open(runtime)

    def code_of(call: Callable[[], object]) -> str:
        with pytest.raises((InvalidError, ConflictError, NotFoundError, ForbiddenError)) as error:
            call()
        return str(error.value.code)

    def put(
        index: int, data: bytes | list[bytes], upload_id: uuid.UUID = upload.id, who: Actor = actor
    ) -> object:
        return uploads.put_chunk(runtime, actor=who, upload_id=upload_id, index=index, data=data)

    assert code_of(lambda: put(4, b"x")) == "BAD_CHUNK_INDEX"
    assert code_of(lambda: put(-1, b"x")) == "BAD_CHUNK_INDEX"
    assert code_of(lambda: put(0, b"x" * (CHUNK + 1))) == "BAD_CHUNK_SIZE"
    assert code_of(lambda: put(3, [b"x" * 999])) == "BAD_CHUNK_SIZE"  # the last is 1000
    assert code_of(lambda: put(0, _piece(DATA, 0), uuid.uuid4())) == "UPLOAD_NOT_FOUND"
    with runtime.session() as session:
        stranger = make_actor(session)
        readonly = make_actor(session, role="readonly")
    assert code_of(lambda: put(0, _piece(DATA, 0), who=stranger)) == "UPLOAD_NOT_FOUND"
    assert code_of(lambda: put(0, _piece(DATA, 0), who=readonly)) == "FORBIDDEN"
    for index in range(4):
        _put(runtime, actor, upload, index)
    _finalize(runtime, actor, upload)
    assert code_of(lambda: put(0, _piece(DATA, 0))) == "UPLOAD_NOT_OPEN"
    assert _missing(runtime, actor, upload) == []
