"""`agentos serve` SIGKILLed while a chunked upload is streaming; the client resumes.

A client sends a file chunk by chunk (a chunk in flight when the server dies); the server
process is killed outright, started again, and the client asks
`GET /api/upload/status/{id}` which chunks are missing, sends only those, and finalizes:
the server's file has the client's SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentos.db.models import Upload
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.faults.private import free_port
from tests.support import celery, services
from tests.support.auth import create_user_and_token

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
CHUNK = 64 * 1024
CHUNKS = 40
STARTUP_BUDGET_S = 60.0


class Serve:
    """`agentos serve` on a loopback port, in its own process group."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.env = celery.worker_env(settings)
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [celery.AGENTOS, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_BUDGET_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"agentos serve did not come up; log:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            celery.stop_worker(self.process)


@pytest.fixture
def deployment(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    settings = celery.celery_settings(postgres_url, redis_url, tmp_path / "home")
    yield settings
    services.flush_redis_prefix(settings)


def _send(client: httpx.Client, base: str, upload_id: str, index: int, data: bytes) -> int:
    chunk = data[index * CHUNK : (index + 1) * CHUNK]
    response = client.post(
        f"{base}/api/upload/chunk",
        params={"upload_id": upload_id, "index": index},
        content=chunk,
        headers={
            "Content-Type": "application/octet-stream",
            "X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest(),
        },
    )
    return response.status_code


def test_upload_resumes_after_the_server_is_killed_mid_upload(
    deployment: Settings, tmp_path: Path
) -> None:
    runtime = Runtime(deployment)
    try:
        _, token = create_user_and_token(runtime, role="user")
    finally:
        runtime.close()
    data = os.urandom(CHUNK * CHUNKS - 1234)
    digest = hashlib.sha256(data).hexdigest()
    server = Serve(deployment, tmp_path / "serve.log")
    server.start()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(headers=headers, timeout=10.0) as client:
            init = client.post(
                f"{server.base}/api/upload/init",
                json={"filename": "resumed.bin", "total_size": len(data), "sha256": digest,
                      "chunk_size": CHUNK},
            )  # fmt: skip
            assert init.status_code == 201, init.text
            upload_id = init.json()["data"]["id"]
            sent: list[int] = []
            errors: list[int] = []

            def stream() -> None:
                for index in range(CHUNKS):
                    try:
                        status = _send(client, server.base, upload_id, index, data)
                    except httpx.TransportError:
                        errors.append(index)
                        return
                    sent.append(index) if status == 200 else errors.append(index)

            sender = threading.Thread(target=stream)
            sender.start()
            while len(sent) < CHUNKS // 3 and sender.is_alive():
                time.sleep(0.005)
            server.kill()
            sender.join(30)
            assert errors, "the server died before the upload ended"
            assert len(sent) < CHUNKS
            server.start()  # the same command, the same port: nothing else changed
            status = client.get(f"{server.base}/api/upload/status/{upload_id}")
            assert status.status_code == 200, status.text
            missing = status.json()["data"]["missing_chunks"]
            unacknowledged = set(range(CHUNKS)) - set(sent)
            assert not set(missing) & set(sent), "an acknowledged chunk was lost"
            # The chunk in flight may have been stored before the kill, and only that one.
            assert set(missing) <= unacknowledged
            assert len(unacknowledged - set(missing)) <= 1
            for index in missing:
                assert _send(client, server.base, upload_id, index, data) == 200
            final = client.post(
                f"{server.base}/api/upload/finalize",
                json={"upload_id": upload_id, "create_job": False},
            )
            assert final.status_code == 200, final.text
            assert final.json()["data"]["upload"]["status"] == "finalized"
        print(
            f"\nkilled after {len(sent)} acknowledged chunks of {CHUNKS}; "
            f"{len(missing)} resent after the restart"
        )
        runtime = Runtime(deployment)
        try:
            with runtime.session() as session:
                stored = session.get(Upload, uuid.UUID(upload_id))
                assert stored is not None
                assert stored.path is not None
                path = Path(stored.path)
        finally:
            runtime.close()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    finally:
        server.stop()
