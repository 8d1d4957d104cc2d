"""Resumable chunked uploads through the HTTP API, on both deployments."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from agentos.db.models import Job, UploadChunk
from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.services.uploads import storage
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.pipeline import wait_for

CHUNK = 64 * 1024


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    # No in-process workers: ingest would move the uploaded file while the test reads it.
    app = create_app(runtime.settings.model_copy(update={"embedded_workers": False}))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def user(settings: Settings, runtime: Runtime) -> dict[str, str]:
    _, token = create_user_and_token(runtime, role="user")
    return auth_headers(token)


def _init(client: TestClient, headers: dict[str, str], data: bytes, name: str = "clip.mp4") -> dict:
    body = {
        "filename": name,
        "total_size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "chunk_size": CHUNK,
    }
    response = client.post("/api/upload/init", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _send(
    client: TestClient,
    headers: dict[str, str],
    upload_id: str,
    data: bytes,
    index: int,
    **extra: str,
):
    piece = data[index * CHUNK : (index + 1) * CHUNK]
    return client.post(
        "/api/upload/chunk",
        params={"upload_id": upload_id, "index": index},
        content=piece,
        headers={**headers, "Content-Type": "application/octet-stream", **extra},
    )


def test_out_of_order_duplicate_and_resume_then_finalize(
    client: TestClient, user: dict[str, str], settings: Settings, runtime: Runtime
) -> None:
    data = os.urandom(CHUNK * 3 + 1000)
    upload = _init(client, user, data)
    assert upload["total_chunks"] == 4

    assert _send(client, user, upload["id"], data, 3).status_code == 200
    assert _send(client, user, upload["id"], data, 1).status_code == 200
    duplicate = _send(client, user, upload["id"], data, 1)
    assert duplicate.json()["data"]["duplicate"] is True
    assert duplicate.json()["data"]["received_chunks"] == 2

    status = client.get(f"/api/upload/status/{upload['id']}", headers=user).json()["data"]
    assert status["missing_chunks"] == [0, 2]
    assert status["complete"] is False
    for index in status["missing_chunks"]:
        assert _send(client, user, upload["id"], data, index).status_code == 200

    response = client.post("/api/upload/finalize", json={"upload_id": upload["id"]}, headers=user)
    assert response.status_code == 200, response.text
    finalized = response.json()["data"]
    assert finalized["upload"]["status"] == "finalized"
    with runtime.session() as session:
        job = session.get(Job, uuid.UUID(finalized["job_id"]))
        assert job is not None
        assert job.source_sha256 == hashlib.sha256(data).hexdigest()
        assert Path(job.source_path or "").read_bytes() == data
        chunks = session.scalars(select(UploadChunk).where(UploadChunk.upload_id == job.upload_id))
        assert len(list(chunks)) == 4
    again = client.post("/api/upload/finalize", json={"upload_id": upload["id"]}, headers=user)
    assert again.json()["data"]["job_id"] == finalized["job_id"]


def test_corrupted_chunk_and_bad_index_are_refused(
    client: TestClient, user: dict[str, str]
) -> None:
    data = os.urandom(CHUNK * 2)
    upload = _init(client, user, data)
    wrong = _send(client, user, upload["id"], data, 0, **{"X-Chunk-SHA256": "0" * 64})
    assert wrong.status_code == 422
    assert wrong.json()["error_code"] == "CHUNK_CHECKSUM_MISMATCH"
    assert _send(client, user, upload["id"], data, 5).json()["error_code"] == "BAD_CHUNK_INDEX"
    short = client.post(
        "/api/upload/chunk",
        params={"upload_id": upload["id"], "index": 0},
        content=b"abc",
        headers=user,
    )
    assert short.json()["error_code"] == "BAD_CHUNK_SIZE"
    status = client.get(f"/api/upload/status/{upload['id']}", headers=user).json()["data"]
    assert status["received_chunks"] == 0


def test_a_chunk_for_no_open_upload_answers_the_error_envelope(
    client: TestClient, user: dict[str, str]
) -> None:
    data = os.urandom(CHUNK + 10)
    unknown = _send(client, user, str(uuid.uuid4()), data, 0)
    assert unknown.status_code == 404
    assert unknown.json()["success"] is False
    assert unknown.json()["error_code"] == "UPLOAD_NOT_FOUND"
    upload = _init(client, user, data)
    for index in (0, 1):
        assert _send(client, user, upload["id"], data, index).status_code == 200
    body = {"upload_id": upload["id"], "create_job": False}
    assert client.post("/api/upload/finalize", json=body, headers=user).status_code == 200
    closed = _send(client, user, upload["id"], data, 0)
    assert closed.status_code == 409
    assert closed.json()["error_code"] == "UPLOAD_NOT_OPEN"


def test_a_chunk_takes_the_write_lock_only_to_record_itself(
    embedded_runtime: Runtime,
) -> None:
    """The caller is read from the cached authentication, not in a write transaction: on
    SQLite each of those would be a BEGIN IMMEDIATE, queued behind every other chunk's."""
    settings = embedded_runtime.settings.model_copy(update={"embedded_workers": False})
    _, token = create_user_and_token(embedded_runtime, role="user")
    user = auth_headers(token)
    data = os.urandom(CHUNK * 3)
    with TestClient(create_app(settings)) as client:
        upload = _init(client, user, data)
        engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
        begun: list[object] = []

        def count(connection: object) -> None:
            begun.append(connection)

        event.listen(engine, "begin", count)
        try:
            for index in range(3):  # the first with the token not yet cached
                assert _send(client, user, upload["id"], data, index).status_code == 200
            assert len(begun) == 3  # one write unit of work per chunk: its record
            duplicate = _send(client, user, upload["id"], data, 0)
            assert duplicate.json()["data"]["duplicate"] is True
            assert len(begun) == 3  # a duplicate is compared, not recorded
        finally:
            event.remove(engine, "begin", count)


def test_a_disabled_user_cached_by_the_chunk_route_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    """The cache is dropped by the revocation's announcement, whichever process made it."""
    user_id, token = create_user_and_token(runtime, role="user")
    headers = auth_headers(token)
    data = os.urandom(CHUNK * 2)
    upload = _init(client, headers, data)
    assert _send(client, headers, upload["id"], data, 0).status_code == 200
    with runtime.session() as session:  # the test's runtime: another process, to the app
        users.disable(session, user_id=user_id)

    def refused() -> bool:
        return _send(client, headers, upload["id"], data, 1).status_code == 401

    wait_for(refused, timeout_s=10, what="the chunk route to refuse a disabled user")
    answer = _send(client, headers, upload["id"], data, 1)
    assert answer.json()["error_code"] == "USER_DISABLED"


def test_a_streamed_chunk_body_is_stored_as_sent(client: TestClient, user: dict[str, str]) -> None:
    """A body in many pieces (chunked transfer): written as it came, never joined."""
    data = os.urandom(CHUNK * 2)
    upload = _init(client, user, data)
    for index in (1, 0):
        piece = data[index * CHUNK : (index + 1) * CHUNK]
        parts = iter([piece[start : start + 4096] for start in range(0, CHUNK, 4096)])
        response = client.post(
            "/api/upload/chunk",
            params={"upload_id": upload["id"], "index": index},
            content=parts,
            headers={**user, "Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 200, response.text
    body = {"upload_id": upload["id"], "create_job": False}
    done = client.post("/api/upload/finalize", json=body, headers=user)
    assert done.status_code == 200, done.text


def test_changed_content_for_a_received_chunk_conflicts(
    client: TestClient, user: dict[str, str]
) -> None:
    data = os.urandom(CHUNK * 2)
    upload = _init(client, user, data)
    assert _send(client, user, upload["id"], data, 0).status_code == 200
    other = bytes(reversed(data[:CHUNK])) + data[CHUNK:]
    response = _send(client, user, upload["id"], other, 0)
    assert response.status_code == 409
    assert response.json()["error_code"] == "CHUNK_CONFLICT"


def test_whole_file_checksum_mismatch_and_incomplete_finalize(
    client: TestClient, user: dict[str, str]
) -> None:
    data = os.urandom(CHUNK + 10)
    body = {"filename": "x.mp4", "total_size": len(data), "sha256": "a" * 64, "chunk_size": CHUNK}
    upload = client.post("/api/upload/init", json=body, headers=user).json()["data"]
    _send(client, user, upload["id"], data, 0)
    incomplete = client.post("/api/upload/finalize", json={"upload_id": upload["id"]}, headers=user)
    assert incomplete.status_code == 409
    assert incomplete.json()["error_code"] == "UPLOAD_INCOMPLETE"
    _send(client, user, upload["id"], data, 1)
    mismatch = client.post("/api/upload/finalize", json={"upload_id": upload["id"]}, headers=user)
    assert mismatch.status_code == 422
    assert mismatch.json()["error_code"] == "CHECKSUM_MISMATCH"


def test_filenames_are_sanitised(
    client: TestClient, user: dict[str, str], settings: Settings
) -> None:
    data = os.urandom(100)
    upload = _init(client, user, data, name="../../etc/passwd")
    assert upload["filename"] == "passwd"
    _send(client, user, upload["id"], data, 0)
    done = client.post(
        "/api/upload/finalize", json={"upload_id": upload["id"], "create_job": False}, headers=user
    ).json()["data"]
    assert done["job_id"] is None
    assert (settings.uploads_dir / upload["id"] / "passwd").read_bytes() == data


def test_uploads_are_private_to_their_owner(
    client: TestClient, user: dict[str, str], settings: Settings, runtime: Runtime
) -> None:
    data = os.urandom(100)
    upload = _init(client, user, data)
    _, other_token = create_user_and_token(runtime, role="user")
    other = auth_headers(other_token)
    assert client.get(f"/api/upload/status/{upload['id']}", headers=other).status_code == 404
    assert _send(client, other, upload["id"], data, 0).status_code == 404
    assert client.get("/api/upload", headers=other).json()["pagination"]["total"] == 0
    mine = client.get("/api/upload", headers=user).json()
    assert [item["id"] for item in mine["data"]] == [upload["id"]]
    assert client.get("/api/upload").status_code == 401


def test_sizes_are_validated(client: TestClient, user: dict[str, str]) -> None:
    too_small = {
        "filename": "a.mp4",
        "total_size": 10_000_000,
        "sha256": "a" * 64,
        "chunk_size": 10,
    }
    # A chunk size outside the server's limits is a wish: kept within them, and answered.
    answer = client.post("/api/upload/init", json=too_small, headers=user)
    assert answer.status_code == 201
    assert answer.json()["data"]["chunk_size"] == 64 * 1024
    huge = {"filename": "a.mp4", "total_size": 10**15, "sha256": "a" * 64, "chunk_size": CHUNK}
    assert (
        client.post("/api/upload/init", json=huge, headers=user).json()["error_code"]
        == "UPLOAD_TOO_LARGE"
    )
    bad_hash = {"filename": "a.mp4", "total_size": 10, "sha256": "xyz", "chunk_size": CHUNK}
    assert client.post("/api/upload/init", json=bad_hash, headers=user).status_code == 422


def test_a_finalize_that_fails_after_promoting_can_run_again(
    client: TestClient, user: dict[str, str], runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its transaction failed after the file got its final name: the upload was left
    `open` with its part gone, and every later finalize answered 500."""
    data = os.urandom(CHUNK + 10)
    upload = _init(client, user, data)
    for index in (0, 1):
        assert _send(client, user, upload["id"], data, index).status_code == 200
    real_promote = storage.promote

    def promote_then_fail(*args: object, **kwargs: object) -> object:
        real_promote(*args, **kwargs)  # type: ignore[arg-type]
        raise OSError("the disk went away right after the link")

    monkeypatch.setattr(storage, "promote", promote_then_fail)
    body = {"upload_id": upload["id"], "create_job": False}
    failed = client.post("/api/upload/finalize", json=body, headers=user)
    assert failed.status_code == 500
    monkeypatch.setattr(storage, "promote", real_promote)
    done = client.post("/api/upload/finalize", json=body, headers=user)
    assert done.status_code == 200, done.text
    upload_id = uuid.UUID(upload["id"])
    final = storage.session_dir(runtime.settings, upload_id) / "clip.mp4"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert not storage.part_path(runtime.settings, upload_id).exists()
    assert final.stat().st_mode & 0o777 == 0o600  # the users' files: this service only
    assert runtime.settings.home_dir.stat().st_mode & 0o777 == 0o700
