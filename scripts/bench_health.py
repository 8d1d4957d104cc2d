"""`GET /health` latency on a real `agentos serve`, against `GET /` on the same server.

    python scripts/bench_health.py [--requests 2000] [--postgres URL] [--redis URL] [--embedded-only]

Runs the server twice: on the embedded default (SQLite, in-process backends) and
distributed (a scratch PostgreSQL database, created and dropped here, plus Redis). `/`
does no I/O, so it is the same-run baseline for the server's own overhead; `/health`
adds a `SELECT 1` and the cache, bus and broker pings. Rate limits are raised so the
public tier does not refuse the loop.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(home: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "AGENTOS_HOME": str(home),
        "AGENTOS_EMBEDDED_WORKERS": "false",
        "AGENTOS_RATELIMIT_PUBLIC_PER_MIN": "10000000",
        "AGENTOS_RATELIMIT_BURST_FACTOR": "0",
        **env_extra,
    }
    agentos = Path(sys.executable).with_name("agentos")
    process = subprocess.Popen(
        [str(agentos), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become healthy")


def _measure(base: str, requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"/": [], "/health": []}
    with httpx.Client(base_url=base) as client:
        for _ in range(50):
            client.get("/health")
        for _ in range(requests):
            for path, samples in timings.items():
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path} answered {response.status_code}")
    return timings


def _report(label: str, timings: dict[str, list[float]]) -> None:
    stats = {}
    for path, samples in timings.items():
        ordered = sorted(samples)
        p99 = ordered[int(len(ordered) * 0.99) - 1]
        stats[path] = (statistics.median(ordered), p99)
        print(f"{label:12} {path:8} p50 {stats[path][0]:6.2f} ms   p99 {p99:6.2f} ms")
    ratio = stats["/health"][0] / stats["/"][0]
    print(f"{label:12} /health p50 is {ratio:.2f}x the no-I/O route's")


def _run(label: str, env_extra: dict[str, str], requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="agentos-bench-health-") as tmp:
        process, base = _serve(Path(tmp), env_extra)
        try:
            _report(label, _measure(base, requests))
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--embedded-only", action="store_true")
    args = parser.parse_args()
    _run("embedded", {}, args.requests)
    if args.embedded_only:
        return
    name = f"agentos_bench_health_{uuid.uuid4().hex[:8]}"
    admin = (
        make_url(args.postgres).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        database = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        env = {
            "AGENTOS_DATABASE_URL": database,
            "AGENTOS_REDIS_URL": args.redis,
            "AGENTOS_REDIS_KEY_PREFIX": f"bench-health-{uuid.uuid4().hex[:8]}:",
        }
        _run("distributed", env, args.requests)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
