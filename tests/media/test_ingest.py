from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from agentos.errors import InvalidError
from agentos.media import ingest as ingest_module
from agentos.media.ingest import ingest, sha256_file

PAYLOAD = os.urandom(3 * (1 << 20) + 123)  # spans several read chunks
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    path = tmp_path / "uploads" / "video.mp4"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def test_move_verifies_and_puts_the_file_in_storage(upload: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    progress: list[float] = []
    result = ingest(upload, dest_dir=store, expected_sha256=DIGEST, on_progress=progress.append)
    assert result.action == "moved"
    assert (result.sha256, result.size_bytes) == (DIGEST, len(PAYLOAD))
    assert Path(result.path).read_bytes() == PAYLOAD
    assert not upload.exists()
    assert progress[-1] == 1.0


def test_copy_keeps_the_source(upload: Path, tmp_path: Path) -> None:
    result = ingest(upload, dest_dir=tmp_path / "store", expected_sha256=DIGEST, move=False)
    assert result.action == "copied"
    assert upload.read_bytes() == Path(result.path).read_bytes() == PAYLOAD
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["video.mp4"]


def test_a_checksum_mismatch_touches_nothing(upload: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    for move in (True, False):
        with pytest.raises(InvalidError) as caught:
            ingest(upload, dest_dir=store, expected_sha256="0" * 64, move=move)
        assert caught.value.code == "CHECKSUM_MISMATCH"
        assert upload.read_bytes() == PAYLOAD
        assert list(store.iterdir()) == []


def test_redelivery_after_the_move_does_nothing(upload: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = ingest(upload, dest_dir=store, expected_sha256=DIGEST)
    mtime = Path(first.path).stat().st_mtime_ns
    again = ingest(upload, dest_dir=store, expected_sha256=DIGEST)
    assert again.action == "present"
    assert again.path == first.path
    assert Path(again.path).stat().st_mtime_ns == mtime


def test_a_stale_destination_is_replaced(upload: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "video.mp4").write_bytes(b"partial")
    result = ingest(upload, dest_dir=store, expected_sha256=DIGEST)
    assert result.action == "moved"
    assert (store / "video.mp4").read_bytes() == PAYLOAD


def test_a_missing_upload_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidError) as caught:
        ingest(tmp_path / "gone.mp4", dest_dir=tmp_path / "store", expected_sha256=DIGEST)
    assert caught.value.code == "SOURCE_MISSING"


def test_move_across_file_systems_copies_then_removes(
    upload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def cross_device(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        if Path(src) == upload:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(ingest_module.os, "replace", cross_device)
    result = ingest(upload, dest_dir=tmp_path / "store", expected_sha256=DIGEST)
    assert result.action == "moved"
    assert Path(result.path).read_bytes() == PAYLOAD
    assert not upload.exists()
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["video.mp4"]


def test_sha256_file_streams(upload: Path) -> None:
    assert sha256_file(upload) == DIGEST
