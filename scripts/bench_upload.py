"""Upload throughput through a real `agentos serve` against a bare streaming route.

    python scripts/bench_upload.py [--size-mb 1024] [--chunk-mb 8] [--parallel 4] [--rounds 1]

Makes a random file, then uploads it with the same client (init, chunks in parallel,
finalize) to two servers in turn, each under uvicorn with httptools and uvloop:
- the baseline, a bare Starlette app whose chunk route streams the body into a file at
  the chunk's offset (no database, no auth, no checksum, no fsync): the cost of moving
  the bytes through HTTP onto the page cache;
- `agentos serve` on the embedded default in a temporary home (authentication, rate
  limit, each chunk on stable storage and recorded before its answer, the whole file's
  SHA-256 checked at finalize).
Prints MB/s of each, the ratio agentos/bare, a plain file copy for scale, each server's
CPU time during the upload (steadier than MB/s on a busy machine) and its resident
memory, idle and peak, to show it stays flat whatever the file size. With --rounds N the
two alternate N times: the best of each, and the median of the rounds' ratios (a round's
two runs saw the same machine, busy or not). --chunk-sha256 sends X-Chunk-SHA256 with
each chunk, as `agentos jobs submit` does (the server then checks each chunk too).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


def _wait_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


def _start_agentos(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTOS_HOME": str(home),
        "AGENTOS_EMBEDDED_WORKERS": "false",
        # One request per chunk: the limits would stop a large upload in small chunks.
        "AGENTOS_RATELIMIT_USER_PER_MIN": "1000000",
        "AGENTOS_RATELIMIT_UPLOAD_PER_MIN": "1000000",
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
    _wait_healthy(process, port)
    return process


def _start_bare(directory: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--serve-bare", str(port), str(directory)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_healthy(process, port)
    return process


def _serve_bare(port: int, directory: Path) -> None:
    """The baseline server: the same three routes, and nothing but the bytes to a file."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    sizes: dict[str, tuple[int, int]] = {}

    async def init(request: Request) -> JSONResponse:
        body = await request.json()
        upload_id = str(len(sizes))
        total, chunk = int(body["total_size"]), int(body["chunk_size"])
        sizes[upload_id] = (total, chunk)
        with open(directory / upload_id, "wb") as handle:
            handle.truncate(total)
        data = {"id": upload_id, "total_chunks": -(-total // chunk), "chunk_size": chunk}
        return JSONResponse({"data": data}, status_code=201)

    async def chunk(request: Request) -> JSONResponse:
        upload_id = request.query_params["upload_id"]
        offset = int(request.query_params["index"]) * sizes[upload_id][1]
        descriptor = os.open(directory / upload_id, os.O_WRONLY)
        try:
            async for piece in request.stream():
                offset += os.pwrite(descriptor, piece, offset)
        finally:
            os.close(descriptor)
        return JSONResponse({"data": {"received": True}})

    async def finalize(request: Request) -> JSONResponse:
        return JSONResponse({"data": {"status": "finalized"}})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/api/upload/init", init, methods=["POST"]),
        Route("/api/upload/chunk", chunk, methods=["POST"]),
        Route("/api/upload/finalize", finalize, methods=["POST"]),
        Route("/health", health),
    ]
    uvicorn.run(
        Starlette(routes=routes),
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )


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


@dataclass(frozen=True)
class Sending:
    """How the client sends, the same to both servers."""

    path: Path
    sha256: str
    chunk: int
    parallel: int
    chunk_sha256: bool


def _upload(base: str, token: str, how: Sending) -> float:
    path, chunk = how.path, how.chunk
    size = path.stat().st_size
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        init = {
            "filename": path.name,
            "total_size": size,
            "sha256": how.sha256,
            "chunk_size": chunk,
        }
        upload = client.post("/api/upload/init", json=init).raise_for_status().json()["data"]

        def send(index: int) -> None:
            with open(path, "rb") as handle:
                handle.seek(index * chunk)
                data = handle.read(chunk)
            headers = {"Content-Type": "application/octet-stream"}
            if how.chunk_sha256:
                headers["X-Chunk-SHA256"] = hashlib.sha256(data).hexdigest()
            client.post(
                "/api/upload/chunk",
                params={"upload_id": upload["id"], "index": index},
                content=data,
                headers=headers,
            ).raise_for_status()

        with ThreadPoolExecutor(how.parallel) as pool:
            list(pool.map(send, range(upload["total_chunks"])))
        body = {"upload_id": upload["id"], "create_job": False}
        client.post("/api/upload/finalize", json=body).raise_for_status()
    return time.perf_counter() - started


@dataclass
class Run:
    seconds: float
    idle_rss: int
    peak_rss: int
    cpu_s: float  # the server's CPU time (user + system) during the upload


def _measure(server: subprocess.Popen[bytes], upload: Callable[[], float]) -> Run:
    os.sync()  # the previous run's dirty pages are not this run's writeback
    stop, peak = threading.Event(), [0]
    process = psutil.Process(server.pid)
    idle_rss, cpu_before = process.memory_info().rss, _cpu(process)
    watcher = threading.Thread(target=_watch_memory, args=(server.pid, stop, peak))
    watcher.start()
    try:
        seconds = upload()
    finally:
        stop.set()
        watcher.join()
    return Run(seconds, idle_rss, peak[0], _cpu(process) - cpu_before)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


def _bare_run(root: Path, how: Sending) -> Run:
    target = root / "bare"
    target.mkdir(exist_ok=True)
    port = _free_port()
    server = _start_bare(target, port)
    try:
        base = f"http://127.0.0.1:{port}"
        return _measure(server, lambda: _upload(base, "-", how))
    finally:
        _stop(server)
        shutil.rmtree(target)


def _agentos_run(root: Path, how: Sending, round_: int) -> Run:
    home, port = root / f"home{round_}", _free_port()
    server = _start_agentos(home, port)
    try:
        token = _token(home)
        base = f"http://127.0.0.1:{port}"
        return _measure(server, lambda: _upload(base, token, how))
    finally:
        _stop(server)
        shutil.rmtree(home)


def _line(label: str, mb: float, run: Run, note: str) -> str:
    rss = f"RSS idle {run.idle_rss / 1e6:4.0f} MB, peak {run.peak_rss / 1e6:4.0f} MB"
    cpu = f"server CPU {run.cpu_s:5.2f} s"
    return f"{label}: {run.seconds:7.2f} s {mb / run.seconds:8.1f} MB/s  {cpu}  {rss}  ({note})"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-bare":
        _serve_bare(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chunk-mb", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--chunk-sha256", action="store_true", help="send X-Chunk-SHA256")
    args = parser.parse_args()
    size, chunk = args.size_mb * 1024 * 1024, args.chunk_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="agentos-bench-upload-", dir=".") as tmp:
        root = Path(tmp)
        source = root / "source.bin"
        sha256 = _make_file(source, size)
        started = time.perf_counter()
        shutil.copyfile(source, root / "copy.bin")
        copy_s = time.perf_counter() - started
        (root / "copy.bin").unlink()
        how = Sending(source, sha256, chunk, args.parallel, args.chunk_sha256)
        bare: list[Run] = []
        ours: list[Run] = []
        for round_ in range(args.rounds):
            bare.append(_bare_run(root, how))
            ours.append(_agentos_run(root, how, round_))
    mb = size / 1024 / 1024
    best_bare = min(bare, key=lambda run: run.seconds)
    best_ours = min(ours, key=lambda run: run.seconds)
    declared = ", X-Chunk-SHA256 sent" if args.chunk_sha256 else ""
    print(f"file: {mb:.0f} MB, chunks of {args.chunk_mb} MB, {args.parallel} in parallel{declared}")
    print(f"plain file copy : {copy_s:7.2f} s {mb / copy_s:8.1f} MB/s  (for scale)")
    print(_line("bare route     ", mb, best_bare, "baseline: chunks streamed to their offsets"))
    print(_line("agentos upload ", mb, best_ours, "init + chunks + sha256 finalize"))
    print(
        f"ratio agentos/bare throughput: {best_bare.seconds / best_ours.seconds:.2f} (best of each)"
    )
    if args.rounds > 1:
        pairs = list(zip(bare, ours, strict=True))
        print(
            "rounds (bare/agentos s): "
            + ", ".join(f"{b.seconds:.2f}/{o.seconds:.2f}" for b, o in pairs)
        )
        ratios = sorted(b.seconds / o.seconds for b, o in pairs)
        print(
            f"ratio per round: median {statistics.median(ratios):.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f}"
        )


if __name__ == "__main__":
    main()
