"""Upload throughput through a real `agentos serve` against a plain file copy on the same disk.

    python scripts/bench_upload.py [--size-mb 1024] [--chunk-mb 8] [--parallel 4]

Starts the server on the embedded default in a temporary home, creates a user, uploads a
random file in chunks through /api/upload (init, chunks, finalize with SHA-256 check)
and prints MB/s, the same-run baseline (shutil.copyfile of the same file) and the ratio,
plus the server's peak resident memory to show it stays flat whatever the file size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

BLOCK = 8 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(BLOCK)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = block[: min(BLOCK, size - written)]
            handle.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def _start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTOS_HOME": str(home),
        "AGENTOS_EMBEDDED_WORKERS": "false",
        # One request per chunk: the 100/min user tier would stop a 1 GB upload at chunk 100.
        "AGENTOS_RATELIMIT_USER_PER_MIN": "1000000",
    }
    env.pop("AGENTOS_DATABASE_URL", None)
    env.pop("AGENTOS_REDIS_URL", None)
    agentos = Path(sys.executable).with_name("agentos")
    process = subprocess.Popen(
        [str(agentos), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


def _token(home: Path) -> str:
    env = {**os.environ, "AGENTOS_HOME": str(home)}
    agentos = str(Path(sys.executable).with_name("agentos"))
    subprocess.run(
        [agentos, "users", "create", "bench", "--role", "user", "--password-stdin"],
        input=b"bench-password-123\n",
        env=env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run([agentos, "token", "bench"], env=env, check=True, capture_output=True)
    return result.stdout.decode().strip().splitlines()[-1]


def _watch_memory(pid: int, stop: threading.Event, peak: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], process.memory_info().rss)
        except psutil.Error:
            return
        time.sleep(0.05)


def _upload(base: str, token: str, path: Path, sha256: str, chunk: int, parallel: int) -> float:
    size = path.stat().st_size
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        init = {"filename": path.name, "total_size": size, "sha256": sha256, "chunk_size": chunk}
        upload = client.post("/api/upload/init", json=init).raise_for_status().json()["data"]

        def send(index: int) -> None:
            with open(path, "rb") as handle:
                handle.seek(index * chunk)
                data = handle.read(chunk)
            client.post(
                "/api/upload/chunk",
                params={"upload_id": upload["id"], "index": index},
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            ).raise_for_status()

        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(send, range(upload["total_chunks"])))
        body = {"upload_id": upload["id"], "create_job": False}
        client.post("/api/upload/finalize", json=body).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chunk-mb", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="agentos-bench-upload-", dir=".") as tmp:
        root = Path(tmp)
        source = root / "source.bin"
        sha256 = _make_file(source, size)
        started = time.perf_counter()
        shutil.copyfile(source, root / "copy.bin")
        copy_s = time.perf_counter() - started
        (root / "copy.bin").unlink()

        home, port = root / "home", _free_port()
        server = _start_server(home, port)
        try:
            token = _token(home)
            stop, peak = threading.Event(), [0]
            idle_rss = psutil.Process(server.pid).memory_info().rss
            watcher = threading.Thread(target=_watch_memory, args=(server.pid, stop, peak))
            watcher.start()
            upload_s = _upload(
                f"http://127.0.0.1:{port}",
                token,
                source,
                sha256,
                args.chunk_mb * 1024 * 1024,
                args.parallel,
            )
            stop.set()
            watcher.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    mb = size / 1024 / 1024
    print(f"file: {mb:.0f} MB, chunks of {args.chunk_mb} MB, {args.parallel} in parallel")
    print(f"plain file copy : {copy_s:7.2f} s  {mb / copy_s:8.1f} MB/s  (baseline)")
    print(
        f"agentos upload  : {upload_s:7.2f} s  {mb / upload_s:8.1f} MB/s  (init + chunks + sha256 finalize)"
    )
    print(f"ratio upload/copy throughput: {copy_s / upload_s:.2f}")
    print(f"server RSS: idle {idle_rss / 1e6:.0f} MB, peak during upload {peak[0] / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
