"""The disk filling up (an injected ENOSPC) while an upload is written or finalized, and
while the clipper writes a clip.

Each answers with a clear error code (503 INSUFFICIENT_STORAGE over HTTP, STORAGE_FULL on
the stage), leaves no partial file behind, and succeeds once space is back: the upload
by sending the chunk or finalizing again, the job by its stage's retry.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import SystemEvent
from agentos.media import clipper
from agentos.server.app import create_app
from agentos.services.pipeline.stage_functions import clips_dir
from agentos.services.runtime import Runtime
from agentos.services.uploads import storage
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.pipeline import (
    assert_completed_pipeline,
    drive,
    job_row,
    make_video,
    steps,
    submit,
    wait_for,
)

pytestmark = [pytest.mark.faults]
CHUNK = 64 * 1024


class Disk:
    """A switch for the injected ENOSPC: `full` until `free()`."""

    def __init__(self) -> None:
        self.full = True
        self.hits = 0

    def guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self.full:
                self.hits += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return original(*args, **kwargs)

        return wrapped

    def free(self) -> None:
        self.full = False


@pytest.fixture
def client(embedded_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(
        create_app(embedded_runtime, runner=lambda _runtime: None),
        raise_server_exceptions=False,
        client=("127.0.0.1", 5000),
    ) as test_client:
        yield test_client


def _session_files(runtime: Runtime, upload_id: str) -> list[str]:
    directory = storage.session_dir(runtime.settings, uuid.UUID(upload_id))
    return sorted(p.name for p in directory.iterdir())


def test_upload_chunk_and_finalize_on_a_full_disk(
    embedded_runtime: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = auth_headers(create_user_and_token(embedded_runtime, role="user")[1])
    data = os.urandom(3 * CHUNK - 100)
    digest = hashlib.sha256(data).hexdigest()
    init = client.post(
        "/api/upload/init",
        json={"filename": "full.bin", "total_size": len(data), "sha256": digest,
              "chunk_size": CHUNK},
        headers=headers,
    )  # fmt: skip
    assert init.status_code == 201, init.text
    upload_id = init.json()["data"]["id"]

    def send(index: int) -> Any:
        return client.post(
            "/api/upload/chunk",
            params={"upload_id": upload_id, "index": index},
            content=data[index * CHUNK : (index + 1) * CHUNK],
            headers={**headers, "Content-Type": "application/octet-stream"},
        )

    assert send(0).status_code == 200
    disk = Disk()
    monkeypatch.setattr(storage.os, "pwritev", disk.guard(os.pwritev))
    refused = send(1)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error_code"] == "INSUFFICIENT_STORAGE"
    assert "Retry-After" in refused.headers
    status = client.get(f"/api/upload/status/{upload_id}", headers=headers).json()["data"]
    assert status["missing_chunks"] == [1, 2]  # the refused chunk was not recorded
    disk.free()
    assert send(1).status_code == 200
    assert send(2).status_code == 200

    disk = Disk()
    monkeypatch.setattr(storage.os, "link", disk.guard(os.link))
    before = _session_files(embedded_runtime, upload_id)
    refused = client.post(
        "/api/upload/finalize", json={"upload_id": upload_id, "create_job": False}, headers=headers
    )
    assert refused.status_code == 503, refused.text
    assert refused.json()["error_code"] == "INSUFFICIENT_STORAGE"
    assert disk.hits == 1
    assert _session_files(embedded_runtime, upload_id) == before == [storage.PART_NAME]
    disk.free()
    done = client.post(
        "/api/upload/finalize", json={"upload_id": upload_id, "create_job": False}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert _session_files(embedded_runtime, upload_id) == ["full.bin"]
    path = storage.session_dir(embedded_runtime.settings, uuid.UUID(upload_id))
    assert hashlib.sha256((path / "full.bin").read_bytes()).hexdigest() == digest


def test_clipper_on_a_full_disk_fails_clearly_and_the_job_retries(
    embedded_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk()

    def filling(original: Callable[..., Any]) -> Callable[..., Any]:
        def write(source: Path, tmp: Path, *args: Any, **kwargs: Any) -> Any:
            if disk.full and ".clip_001_" in tmp.name:
                tmp.write_bytes(b"\0" * 4096)  # half a clip, then the disk is full
                disk.hits += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
            return original(source, tmp, *args, **kwargs)

        return write

    monkeypatch.setattr(clipper, "stream_copy", filling(clipper.stream_copy))
    monkeypatch.setattr(clipper, "transcode", filling(clipper.transcode))
    job_id = submit(embedded_runtime, make_video(tmp_path))
    outcomes = drive(embedded_runtime)
    assert outcomes[-1] == "clipper:retrying", outcomes
    assert disk.hits == 1
    failed = [s for s in steps(embedded_runtime, job_id) if s.status == "failed"]
    assert [(s.agent, s.error) for s in failed] == [
        ("clipper", "no space left on the storage device")
    ]
    with embedded_runtime.session() as session:
        codes = list(
            session.scalars(
                select(SystemEvent.details["error_code"].as_string()).where(
                    SystemEvent.job_id == job_id, SystemEvent.kind == "step.retry"
                )
            )
        )
    assert codes == ["STORAGE_FULL"]
    directory = clips_dir(embedded_runtime.settings, job_id)
    leftovers = [p.name for p in directory.iterdir() if ".part" in p.name or p.name.startswith(".")]
    assert leftovers == [], "a partial clip was left behind"
    assert not list(directory.glob("clip_001_*")), "the clip that did not fit exists"
    assert job_row(embedded_runtime, job_id).status == "queued"  # its retry, after a backoff

    disk.free()  # space is back: the stage's retry (after its backoff) completes the job

    def finished() -> bool:
        drive(embedded_runtime)
        return job_row(embedded_runtime, job_id).status == "completed"

    started = time.monotonic()
    wait_for(finished, timeout_s=60, what="the retried clipper to complete the job")
    print(f"\nclipper retried and the job completed {time.monotonic() - started:.1f}s later")
    assert_completed_pipeline(embedded_runtime, job_id)
