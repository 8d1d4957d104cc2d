"""The admin read model against a real server on PostgreSQL + Redis, in one run.

    python scripts/bench_ssot.py [--sizes 10000,100000,1000000] [--duration 8] [--clients 2]

1. Creates a PostgreSQL database (dropped at the end) and a Redis key prefix (flushed).
2. Seeds the smallest size, starts `agentos serve` on it, and measures cache-hit
   throughput and p50/p99 of `GET /api/admin/ssot` (admin token, the admin-read tier
   raised so the load is not refused) against a bare FastAPI route in a separate uvicorn
   process that returns the very same response bytes, headers included (`same`: the
   headers of a sample answer, encoded once); prints the ratio (goal >= 0.8). Also
   measured, for reference: a bare route returning the body with only its content type
   (`bare`). The two baselines differ in what the *client* does: Python's http.client
   parses each header line (about 75 us for the 16 of an SSOT answer against 22 us for
   2), and the clients share the machine's two cores with the server.
   Both are driven by the same loop: `--clients` processes, each one keep-alive
   connection with http.client, for `--duration` seconds per round, rounds alternating.
3. For every size: reset and seed through `agentos.services.seed`, VACUUM ANALYZE, then
   time `--rebuilds` document rebuilds (collect + serialise, what the warmer runs) and
   print min / median; at the largest size also EXPLAIN the heaviest queries.

Environment: AGENTOS_TEST_POSTGRES_URL / AGENTOS_TEST_REDIS_URL as in the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import redis
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from agentos.db.migrate import ensure_schema
from agentos.db.models import Agent, JobStatusRollup, ProcessingStep
from agentos.schemas.seed import SeedOptions
from agentos.services import seed
from agentos.services.admin_data.build import build
from agentos.services.admin_data.build import section_tasks as build_tasks
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.services.security.tokens import issue_access_token
from agentos.settings import REDIS_DB_BY_ROLE, Settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
STARTUP_S = 60.0

BARE_APP = textwrap.dedent(
    """
    import json
    import sys
    from pathlib import Path
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response

    BODY = Path(sys.argv[1]).read_bytes()
    HEADERS = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in json.loads(Path(sys.argv[3]).read_text())
    ]
    app = FastAPI()


    class Prepared(Response):
        # The same headers as the measured answer, encoded once: the cheapest way to
        # send those bytes, so the baseline is as fast as it can be.
        def __init__(self) -> None:
            self.status_code, self.body, self.background = 200, BODY, None
            self.raw_headers = HEADERS


    @app.get("/bare")
    async def bare() -> Response:
        return Response(BODY, media_type="application/json")


    @app.get("/same")
    async def same() -> Response:
        return Prepared()


    # The same uvicorn options as `agentos serve` (agentos/cli/processes.py).
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="info",
                proxy_headers=False, server_header=False, http="httptools", loop="uvloop",
                access_log=False)
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(url: str, sql: str) -> None:
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute(sql)


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up:\n{log.read_text()[-3000:]}")


# --- load loop (runs in client processes) ---------------------------------------------


def _client(args: tuple[int, str, dict[str, str], float]) -> tuple[int, list[float], int]:
    port, path, headers, duration = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration
    while True:
        started = time.perf_counter()
        if started >= deadline:
            break
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            errors += 1
    connection.close()
    return len(latencies), latencies, errors


def _load(
    port: int, path: str, headers: dict[str, str], clients: int, duration: float
) -> dict[str, float]:
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, [(port, path, headers, duration)] * clients)
    latencies = sorted(value for _, values, _ in results for value in values)
    total = sum(count for count, _, _ in results)
    errors = sum(errors for _, _, errors in results)
    return {
        "rps": total / duration,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "requests": total,
        "errors": errors,
    }


# --- phases ---------------------------------------------------------------------------


def _token(runtime: Runtime) -> str:
    with runtime.session() as session:
        user, _ = users.create(
            session, username=f"bench-{uuid.uuid4().hex[:6]}", role="admin", password="x" * 16
        )
    return issue_access_token(
        runtime.settings, user_id=user.id, username=user.username, role="admin", token_version=0
    )


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTOS_")}
    env.update(
        AGENTOS_HOME=str(settings.home_dir),
        AGENTOS_DATABASE_URL=settings.resolved_database_url,
        AGENTOS_REDIS_URL=settings.redis_url or "",
        AGENTOS_REDIS_KEY_PREFIX=settings.redis_key_prefix,
        # The load would be refused after 500 requests otherwise; the limiter still runs.
        AGENTOS_RATELIMIT_ADMIN_READ_PER_MIN="1000000000",
    )
    agentos = Path(sys.executable).with_name("agentos")
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(agentos), "serve", "--port", str(port)],
            env=env,
            cwd=settings.home_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait_dispatched(runtime: Runtime, timeout_s: float = 180.0) -> None:
    """Until the server has sent a Celery message for every seeded waiting step: that
    one-off burst (thousands of publishes and commits) would otherwise share the CPU with
    the measured route, while the bare server has nothing of the kind."""
    started = time.perf_counter()
    unsent = select(func.count()).where(
        ProcessingStep.status == "queued", ProcessingStep.task_id.is_(None)
    )
    left = -1
    while time.perf_counter() - started < timeout_s:
        with runtime.session() as session:
            left = int(session.scalar(unsent) or 0)
        if left == 0:
            break
        time.sleep(0.5)
    print(
        f"dispatch of seeded steps settled in {time.perf_counter() - started:.1f} s ({left} left)"
    )


def http_phase(runtime: Runtime, args: argparse.Namespace, workdir: Path) -> None:
    headers = {"Authorization": f"Bearer {_token(runtime)}"}
    ssot_port, bare_port = _free_port(), _free_port()
    ssot_log, bare_log = workdir / "serve.log", workdir / "bare.log"
    server = _serve(runtime.settings, ssot_port, ssot_log)
    bare: subprocess.Popen[bytes] | None = None
    try:
        _wait_http(f"http://127.0.0.1:{ssot_port}/health", server, ssot_log)
        _wait_dispatched(runtime)
        sample = httpx.get(f"http://127.0.0.1:{ssot_port}/api/admin/ssot", headers=headers)
        sample.raise_for_status()
        body = workdir / "body.json"
        body.write_bytes(sample.content)
        # Every header of the sample but the ones uvicorn and the response add themselves.
        same_headers = workdir / "headers.json"
        same_headers.write_text(
            json.dumps(
                [
                    [name, value]
                    for name, value in sample.headers.multi_items()
                    if name not in ("date", "server")
                ]
            )
        )
        script = workdir / "bare_app.py"
        script.write_text(BARE_APP)
        with bare_log.open("wb") as output:
            bare = subprocess.Popen(
                [sys.executable, str(script), str(body), str(bare_port), str(same_headers)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        _wait_http(f"http://127.0.0.1:{bare_port}/bare", bare, bare_log)
        print(f"\nresponse size {len(sample.content)} bytes; X-Cache {sample.headers['x-cache']}")
        rounds: dict[str, list[dict[str, float]]] = {"same": [], "ssot": [], "bare": []}
        _load(ssot_port, "/api/admin/ssot", headers, args.clients, 1.0)  # warm-up
        _load(bare_port, "/same", {}, args.clients, 1.0)
        for _ in range(args.rounds):
            rounds["same"].append(_load(bare_port, "/same", {}, args.clients, args.duration))
            rounds["ssot"].append(
                _load(ssot_port, "/api/admin/ssot", headers, args.clients, args.duration)
            )
            rounds["bare"].append(_load(bare_port, "/bare", {}, args.clients, args.duration))
        for name, results in rounds.items():
            for result in results:
                print(
                    f"  {name:4s} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:.2f} ms  "
                    f"p99 {result['p99_ms']:.2f} ms  ({result['requests']:.0f} requests, "
                    f"{result['errors']:.0f} non-200)"
                )
        rps = {
            name: statistics.median(r["rps"] for r in results) for name, results in rounds.items()
        }
        print(
            "SSOT cache hit / bare route returning the same bytes, throughput ratio: "
            f"{rps['ssot'] / rps['same']:.2f} (goal >= 0.8)"
        )
        print(
            "  for reference, the ratio against the bare route with the body and one header: "
            f"{rps['ssot'] / rps['bare']:.2f}"
        )
        health = httpx.get(f"http://127.0.0.1:{ssot_port}/api/admin/ssot/health", headers=headers)
        data = health.json()["data"]
        print(
            f"server counts: hits {data['hits']}, misses {data['misses']}, rebuilds {data['rebuilds']}"
        )
    finally:
        for process in (server, bare):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)


def _explain(runtime: Runtime) -> None:
    """Each section alone (median of 3), then the plans of the queries that scan most."""
    now = datetime.now(UTC)
    for name, task in build_tasks(runtime.settings, now).items():
        times = []
        for _ in range(3):
            with runtime.read_session() as session:
                t0 = time.perf_counter()
                task(session)
                times.append((time.perf_counter() - t0) * 1000)
        print(f"  section {name:10s} {statistics.median(times):7.1f} ms")
    queries = {
        "job status counts (rollup)": select(
            JobStatusRollup.status, func.sum(JobStatusRollup.count)
        )
        .where(JobStatusRollup.basis == "created")
        .group_by(JobStatusRollup.status),
        "oldest waiting step per agent": select(
            Agent.name,
            select(func.min(ProcessingStep.created_at))
            .where(ProcessingStep.status == "queued", ProcessingStep.agent == Agent.name)
            .correlate(Agent)
            .scalar_subquery(),
        ),
    }
    with runtime.engine.connect() as connection:
        for name, query in queries.items():
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = connection.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}"))
            print(f"  EXPLAIN {name}:")
            for (line,) in plan:
                print(f"    {line}")


def rebuild_phase(runtime: Runtime, size: int, rebuilds: int, *, explain: bool) -> None:
    started = time.perf_counter()
    options = SeedOptions(jobs=size, events=min(10_000, max(100, size // 100)), seed=7)
    result = seed.reset_and_seed(runtime, options=options)
    seeded = time.perf_counter() - started
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    build(runtime, source="miss")  # first run: connections, caches
    times = []
    for _ in range(rebuilds):
        t0 = time.perf_counter()
        document = build(runtime, source="miss")
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"\n{size:>9,} jobs (seeded in {seeded:.0f} s, {result.total_rows:,} rows): rebuild "
        f"min {min(times):.1f} ms, median {statistics.median(times):.1f} ms, "
        f"max {max(times):.1f} ms over {rebuilds}; document {document.size_bytes:,} bytes"
    )
    if explain:
        _explain(runtime)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rebuilds", type=int, default=7)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    admin_url = os.environ.get("AGENTOS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    redis_url = os.environ.get("AGENTOS_TEST_REDIS_URL", DEFAULT_REDIS)
    name = f"agentos_bench_{uuid.uuid4().hex[:10]}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory(prefix="bench-ssot-") as tmp:
        workdir = Path(tmp)
        settings = Settings(
            home=workdir / "home",
            database_url=make_url(admin_url)
            .set(database=name)
            .render_as_string(hide_password=False),
            redis_url=redis_url,
            redis_key_prefix=f"bench-ssot-{uuid.uuid4().hex[:8]}:",
        )
        settings.ensure_home()
        runtime = Runtime(settings)
        try:
            ensure_schema(runtime.engine)
            for index, size in enumerate(sizes):
                rebuild_phase(runtime, size, args.rebuilds, explain=index == len(sizes) - 1)
                if index == 0 and not args.skip_http:
                    http_phase(runtime, args, workdir)
        finally:
            runtime.close()
            _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in REDIS_DB_BY_ROLE:
                client = redis.Redis.from_url(settings.redis_url_for(role))  # type: ignore[arg-type]
                keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*"))
                if keys:
                    client.delete(*keys)
                client.close()


if __name__ == "__main__":
    main()
