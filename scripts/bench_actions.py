"""The admin action pipeline against a bare write route, on PostgreSQL + Redis, in one run.

    python scripts/bench_actions.py [--requests 400] [--concurrency 1,32]

1. Creates a PostgreSQL database (dropped at the end, migrated through Alembic) and a Redis
   key prefix (flushed at the end); seeds one unacknowledged system event per request.
2. Starts `agentos serve` on it (embedded workers off, rate-limit classes and the
   admin-action tier raised so the load is not refused: the limiters still run) and, in
   a separate uvicorn process, a bare FastAPI route that does one INSERT per request on
   the same database with the same engine settings.
3. At each concurrency, `--rounds` rounds: `POST /api/admin/action` with
   `dashboard.alert.ack` (authentication, IP allow-list, RBAC, rate limit, breaker,
   the UPDATE, the hash-chained audit INSERT, commit, the bus announcement) against the
   bare route. A round's requests go in 4 slices, each sent to both in A-B-B-A order, so
   the host's speed drifting during a round weighs on both alike. Prints, for the round
   with the lower p50 of each: p50/p99, throughput (requests over the time from each
   slice's first request to its last answer: starting client processes is not counted),
   the ratios, and the CPU time each server process spent per request (its own and its
   children's, from /proc). Clients: threads with one keep-alive http.client connection
   each, in 2 processes.
4. Before that, in this process through the same app: the SQL statements, transactions,
   connection checkouts (each a pre-ping round trip) and Redis round trips of one ack.

Environment: AGENTOS_TEST_POSTGRES_URL / AGENTOS_TEST_REDIS_URL as in the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from agentos.db.migrate import ensure_schema
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.services.security.tokens import issue_access_token
from agentos.settings import REDIS_DB_BY_ROLE, Settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
STARTUP_S = 60.0
CLIENT_PROCESSES = 2
COUNTED = 25
SLICES = 4  # alternations per round: A-B-B-A...
UNLIMITED = 1_000_000_000  # a rate limit the load never reaches
MAX_ACTION_LIMIT = 1_000_000  # the largest an action class takes (Settings)

BARE_APP = textwrap.dedent(
    """
    import sys
    import uvicorn
    from datetime import UTC, datetime
    from fastapi import FastAPI, Request
    from sqlalchemy import text
    from agentos.db.session import build_engine

    engine = build_engine(sys.argv[1])
    app = FastAPI()

    @app.post("/bare")
    def bare(body: dict) -> dict:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO bench_bare (payload, created_at) VALUES (CAST(:p AS jsonb), :t)"),
                {"p": __import__("json").dumps(body), "t": datetime.now(UTC)},
            )
        return {"success": True, "data": body}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(admin_url: str, sql: str) -> None:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def _prepare(runtime: Runtime, events: int) -> tuple[str, list[str]]:
    ensure_schema(runtime.engine)
    with runtime.session() as session:
        session.execute(
            text(
                "CREATE TABLE bench_bare (id bigserial PRIMARY KEY, payload jsonb NOT NULL, "
                "created_at timestamptz NOT NULL)"
            )
        )
        user, _ = users.create(session, username="bench-admin", role="admin", password="x" * 16)
        ids = [str(uuid.uuid4()) for _ in range(events)]
        session.execute(
            text(
                "INSERT INTO system_events (id, severity, source, kind, message, created_at) "
                "SELECT CAST(x AS uuid), 'warning', 'bench', 'note', 'disk 91%', now() "
                "FROM unnest(CAST(:ids AS text[])) AS x"
            ),
            {"ids": ids},
        )
    token = issue_access_token(
        runtime.settings, user_id=user.id, username=user.username, role="admin", token_version=0
    )
    return token, ids


def _start(args: list[str], env: dict[str, str], log: Path, health: str) -> subprocess.Popen[bytes]:
    output = log.open("wb")
    process = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(health, timeout=2)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{args[:3]} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _client_process(
    port: int, path: str, headers: dict[str, str], bodies: list[list[bytes]], out: Any
) -> None:
    """One process: a thread per connection, each sending its bodies in order. Reports the
    latencies and when its first request started and its last answer ended (the monotonic
    clock is the same in every process), so starting processes is not counted."""
    latencies: list[float] = []
    spans: list[tuple[float, float]] = []
    errors = [0]
    lock = threading.Lock()

    def worker(items: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.connect()
        mine: list[float] = []
        failed = 0
        first = time.perf_counter()
        for body in items:
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200 and failed == 0:  # say why, once per connection
                print(f"  HTTP {response.status}: {answer[:300]!r}", file=sys.stderr)
            failed += response.status != 200
        last = time.perf_counter()
        connection.close()
        with lock:
            latencies.extend(mine)
            spans.append((first, last))
            errors[0] += failed

    threads = [threading.Thread(target=worker, args=(items,)) for items in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((latencies, errors[0], min(a for a, _ in spans), max(b for _, b in spans)))


def _slice(
    port: int,
    path: str,
    headers: dict[str, str],
    bodies: list[bytes],
    concurrency: int,
    server: int,
) -> dict[str, Any]:
    """`bodies` sent over `concurrency` connections: latencies, busy time, server CPU."""
    connections = [bodies[i::concurrency] for i in range(concurrency)]
    processes = min(CLIENT_PROCESSES, concurrency)
    queue: Any = multiprocessing.Queue()
    groups = [connections[i::processes] for i in range(processes)]
    cpu_before = _cpu_s(server)
    workers = [
        multiprocessing.Process(target=_client_process, args=(port, path, headers, group, queue))
        for group in groups
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    cpu = _cpu_s(server) - cpu_before
    for worker in workers:
        worker.join()
    return {
        "latencies": [item for result in results for item in result[0]],
        "errors": sum(result[1] for result in results),
        "wall": max(result[3] for result in results) - min(result[2] for result in results),
        "cpu": cpu,
    }


def _summary(parts: list[dict[str, Any]]) -> dict[str, float]:
    latencies = sorted(item for part in parts for item in part["latencies"])
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": len(latencies) / sum(part["wall"] for part in parts),
        "errors": sum(part["errors"] for part in parts),
        "cpu_ms": sum(part["cpu"] for part in parts) * 1000 / len(latencies),
    }


Target = tuple[int, str, dict[str, str], bool, int]  # port, path, headers, action?, server pid


def _paired_round(
    pipeline: Target, bare: Target, ids: list[str], concurrency: int
) -> tuple[dict[str, float], dict[str, float]]:
    """One round: its events in SLICES slices, each sent to the pipeline and (as the same
    INSERT payload) to the bare route, in A-B-B-A order, so that the host's speed changing
    during the round weighs on both alike."""
    size = max(concurrency, -(-len(ids) // SLICES))
    parts: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for number, start in enumerate(range(0, len(ids), size)):
        chunk = ids[start : start + size]
        order = (pipeline, bare) if number % 2 == 0 else (bare, pipeline)
        for port, path, headers, action, pid in order:
            parts[action].append(
                _slice(port, path, headers, _bodies(chunk, action), concurrency, pid)
            )
    return _summary(parts[True]), _summary(parts[False])


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process and its waited-for children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _count_round_trips(runtime: Runtime, token: str, ids: list[str]) -> None:
    """Per ack, in this process and through the real app: statements, commits, round trips."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from agentos.server.app import create_app
    from agentos.services.security import audit

    app = create_app(runtime)  # lifespan not entered: no warmer or feed adds its own I/O
    engine = runtime.engine
    counts = {"statements": 0, "pipelined": 0, "commits": 0, "checkouts": 0, "redis": 0}

    def count(name: str) -> Any:
        return lambda *_: counts.__setitem__(name, counts[name] + 1)

    hooks = [
        (engine, "before_cursor_execute", count("statements")),
        (engine, "commit", count("commits")),
        (engine.pool, "checkout", count("checkouts")),
    ]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def counted(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts["redis"] += 1
            return original(*args, **kwargs)

        return wrapper

    redis.Redis.execute_command = counted(command)  # type: ignore[method-assign]
    redis.client.Pipeline.execute = counted(pipeline)  # type: ignore[method-assign]
    # The audit append goes to the driver with its COMMIT (one query string), unseen by the
    # engine's events: counted here as one more statement.
    appended = audit._append_and_commit

    def counted_append(*args: Any) -> int:
        counts["statements"] += 1
        counts["pipelined"] += 1
        return appended(*args)

    audit._append_and_commit = counted_append  # type: ignore[assignment]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(app, client=("127.0.0.1", 50000)) as client:
            warm, measured = ids[:5], ids[5:]
            for event_id in warm + measured:
                if event_id == measured[0]:
                    counts.update(dict.fromkeys(counts, 0))
                body = {"action": "dashboard.alert.ack", "payload": {"event_id": event_id}}
                response = client.post("/api/admin/action", json=body, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"ack failed: {response.status_code} {response.text}")
    finally:
        redis.Redis.execute_command = command  # type: ignore[method-assign]
        redis.client.Pipeline.execute = pipeline  # type: ignore[method-assign]
        audit._append_and_commit = appended
        for target, name, hook in hooks:
            event.remove(target, name, hook)
    per = {name: value / len(measured) for name, value in counts.items()}
    print(
        f"per ack (in process, warm caches): {per['statements']:.1f} SQL statements "
        f"({per['pipelined']:.1f} sent with the COMMIT), "
        f"{per['commits']:.1f} commits, {per['checkouts']:.1f} connection checkouts "
        f"(pre-ping), {per['redis']:.1f} Redis round trips"
    )


def _bodies(ids: list[str], action: bool) -> list[bytes]:
    if action:
        return [
            json.dumps({"action": "dashboard.alert.ack", "payload": {"event_id": i}}).encode()
            for i in ids
        ]
    return [json.dumps({"event_id": i}).encode() for i in ids]


def _report(concurrency: int, pipeline: dict[str, float], bare: dict[str, float]) -> None:
    print(
        f"concurrency {concurrency:>2}: pipeline p50 {pipeline['p50']:.2f} ms  p99 "
        f"{pipeline['p99']:.2f} ms  {pipeline['rps']:.0f} req/s  server CPU "
        f"{pipeline['cpu_ms']:.2f} ms/req  (errors {pipeline['errors']:.0f})"
    )
    print(
        f"               bare     p50 {bare['p50']:.2f} ms  p99 {bare['p99']:.2f} ms  "
        f"{bare['rps']:.0f} req/s  server CPU {bare['cpu_ms']:.2f} ms/req  "
        f"(errors {bare['errors']:.0f})"
    )
    print(
        f"               ratio    p50 x{pipeline['p50'] / bare['p50']:.2f}  throughput "
        f"{pipeline['rps'] / bare['rps']:.2f} of bare"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per round and client")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per level")
    options = parser.parse_args()
    levels = [int(level) for level in options.concurrency.split(",")]

    admin_url = os.environ.get("AGENTOS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    redis_url = os.environ.get("AGENTOS_TEST_REDIS_URL", DEFAULT_REDIS)
    name = f"agentos_bench_{uuid.uuid4().hex[:10]}"
    home = Path(tempfile.mkdtemp(prefix="agentos-bench-"))
    database_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(
        home=home,
        database_url=database_url,
        redis_url=redis_url,
        redis_key_prefix=f"bench-{uuid.uuid4().hex[:8]}:",
        ratelimit_admin_action_per_min=UNLIMITED,
    )
    per_level = {level: options.requests * max(1, level // 4) for level in levels}
    needed = sum(per_level[level] * options.rounds for level in levels) + 50
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    runtime = Runtime(settings)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        token, ids = _prepare(runtime, needed + COUNTED)
        _count_round_trips(runtime, token, ids[-COUNTED:])
        settings.signing_key()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
        env.update(
            AGENTOS_HOME=str(home),
            AGENTOS_DATABASE_URL=database_url,
            AGENTOS_REDIS_URL=redis_url,
            AGENTOS_REDIS_KEY_PREFIX=settings.redis_key_prefix,
            AGENTOS_EMBEDDED_WORKERS="false",
            AGENTOS_ACTION_RATE_LIMITS=json.dumps({"standard": MAX_ACTION_LIMIT}),
            AGENTOS_RATELIMIT_ADMIN_ACTION_PER_MIN=str(UNLIMITED),
            AGENTOS_LOG_LEVEL="WARNING",
        )
        app_port, bare_port = _free_port(), _free_port()
        script = str(Path(sys.executable).with_name("agentos"))
        processes.append(
            _start(
                [script, "serve", "--host", "127.0.0.1", "--port", str(app_port)],
                env,
                home / "serve.log",
                f"http://127.0.0.1:{app_port}/health",
            )
        )
        processes.append(
            _start(
                [sys.executable, "-c", BARE_APP, database_url, str(bare_port)],
                env,
                home / "bare.log",
                f"http://127.0.0.1:{bare_port}/docs",
            )
        )
        action_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        bare_headers = {"Content-Type": "application/json"}
        cursor = 0
        pipeline: Target = (app_port, "/api/admin/action", action_headers, True, processes[0].pid)
        bare: Target = (bare_port, "/bare", bare_headers, False, processes[1].pid)
        _paired_round(pipeline, bare, ids[cursor : cursor + 50], 2)
        cursor += 50
        for level in levels:
            pipeline_runs, bare_runs = [], []
            for _ in range(options.rounds):
                batch = ids[cursor : cursor + per_level[level]]
                cursor += per_level[level]
                pipeline_run, bare_run = _paired_round(pipeline, bare, batch, level)
                pipeline_runs.append(pipeline_run)
                bare_runs.append(bare_run)
            best = lambda runs: min(runs, key=lambda run: run["p50"])  # noqa: E731
            _report(level, best(pipeline_runs), best(bare_runs))
        with runtime.session() as session:
            acked = session.execute(
                text("SELECT count(*) FROM system_events WHERE acknowledged_at IS NOT NULL")
            ).scalar_one()
            audited = session.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
        print(f"events acknowledged: {acked}, audit records: {audited}")
    finally:
        for process in processes:
            _stop(process)
        served = home / "serve.log"
        errors = [
            line for line in served.read_text(errors="replace").splitlines() if "Error" in line
        ]
        if errors:  # a failing server says why here, not only in its log
            print("server errors (first 5):", *errors[:5], sep="\n  ", file=sys.stderr)
        runtime.close()
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role, db in REDIS_DB_BY_ROLE.items():
            client = redis.Redis.from_url(settings.redis_url_for(role))  # type: ignore[arg-type]
            keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
            del role, db


if __name__ == "__main__":
    main()
