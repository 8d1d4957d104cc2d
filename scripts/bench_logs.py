"""The log store handler's cost: a logging request path with and without it, in one run.

    python scripts/bench_logs.py [--rounds 12] [--duration 4] [--clients 4]

1. Creates a PostgreSQL database (dropped at the end, migrated through Alembic) and a Redis
   key prefix (deleted at the end); seeds a user, their token, one finalised upload and
   the pipeline's agents.
2. Starts one server process on 127.0.0.1: the real app (`create_app(...,
   log_process="server")`, so its logs are configured as `agentos serve` configures them:
   the JSON stderr handler and the `log_records` store handler), no runner, served with
   the uvicorn options of `agentos serve`; plus bench-only routes: one re-runs
   `logs.setup.configure` with or without the runtime, i.e. with or without the store
   handler (turning it off waits until the store has written what it queued, so no
   round pays for the one before) and answers the store's counters (and its INSERTs,
   counted by wrapping `LogStore._write`); one logs records in the server itself.
3. Rounds alternate (ABBA) between the two, same process, same settings: `--clients`
   client processes, each one keep-alive connection, `POST /api/jobs/create` for
   `--duration` seconds (every request logs `job created` at INFO). Prints each round,
   then requests/s with and without the store, the ratio (aim >= 0.95) and the ratio of
   each ABBA pair, the server's CPU per request, the records written per request and per
   INSERT, and what the store dropped.
4. What-if (`--no-what-if` skips it): the same rounds with the store's writer lingering
   `--linger-ms` after the first record of a batch (patched into the server process).
5. The handler's CPU per record in the server process, no client running: `--records`
   records `--gap-ms` apart through the `agentos` logger, until written; none, the store
   as is, the lingering writer (each twice, interleaved).

Environment: AGENTOS_TEST_POSTGRES_URL / AGENTOS_TEST_REDIS_URL as in the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from agentos.db.migrate import ensure_schema
from agentos.db.models import LogRecord, Upload
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.services.security.tokens import issue_access_token
from agentos.settings import REDIS_DB_BY_ROLE, Settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
STARTUP_S = 60.0
UNLIMITED = 1_000_000_000  # a rate limit the load never reaches
PATH = "/api/jobs/create"
AIM = 0.95
SWITCH = "/_bench/store"

# The app as `agentos serve` builds it (agentos/cli/processes.py), without a runner (the
# jobs stay queued: no worker shares the CPU), and the switch. The store's `_write` is
# wrapped to count its INSERT batches; `linger` is the proposed writer (what-if): after
# the first record of a batch it sleeps `linger` seconds so the records of that time go
# in one INSERT, instead of one INSERT (one transaction) per record at moderate rates.
SERVER = textwrap.dedent(
    """
    import logging
    import queue
    import sys
    import time
    import uuid
    import uvicorn
    from agentos.services.context import bound
    from agentos.server.app import create_app
    from agentos.server.logs import uvicorn_log_config
    from agentos.services.logs import setup as logs_setup
    from agentos.services.logs import store as store_module
    from agentos.settings import get_settings

    LINGER_S = float(sys.argv[2])
    LogStore = store_module.LogStore
    batches = [0]
    as_is_write, as_is_gather = LogStore._write, LogStore._gather

    def counted_write(self, batch):
        batches[0] += 1
        as_is_write(self, batch)

    def lingering_gather(self):
        batch = as_is_gather(self)
        if batch and len(batch) < store_module.BATCH:
            time.sleep(LINGER_S)
            while len(batch) < store_module.BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
        return batch

    LogStore._write = counted_write
    app = create_app(get_settings(), runner=lambda runtime: None, log_process="server")
    runtime = app.state.runtime

    @app.get("/_bench/store")
    def switch(state: str) -> dict:
        store = store_module.store_for(runtime)
        if state == "off":
            logs_setup.configure(None, process="server")
            store.flush(30.0)
        else:
            LogStore._gather = lingering_gather if state == "linger" else as_is_gather
            logs_setup.configure(runtime, process="server")
        return {**store.stats(), "batches": batches[0]}

    @app.get("/_bench/emit")
    def emit(state: str, records: int, gap_ms: float) -> dict:
        # This process's CPU time (every thread: the writer's too) per record logged the
        # way a job creation logs it, at a steady trickle, until the store wrote them.
        switch(state)
        store = store_module.store_for(runtime)
        logger = logging.getLogger("agentos.services.jobs.commands")
        caller = 0.0
        cpu = time.process_time()
        for number in range(records):
            with bound(trace_id=uuid.uuid4().hex, job_id=uuid.uuid4()):
                started = time.perf_counter()
                logger.info("job created: %r, first stage %s", f"bench {number}", "ingest")
                caller += time.perf_counter() - started
            time.sleep(gap_ms / 1000)
        store.flush(30.0)
        cpu = time.process_time() - cpu
        switch("off")
        return {"cpu_us": cpu / records * 1e6, "caller_us": caller / records * 1e6}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info",
                log_config=uvicorn_log_config(), proxy_headers=False, server_header=False,
                http="httptools", loop="uvloop", access_log=False)
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


def _prepare(runtime: Runtime) -> tuple[str, str]:
    """A user, their token and one finalised upload every job is created from; the
    pipeline's agents too (the first job requests would otherwise race to create them)."""
    ensure_schema(runtime.engine)
    with runtime.session() as session:
        ensure_default_agents(session)
        user, _ = users.create(session, username="bench-logs", role="user", password="x" * 16)
        upload = Upload(
            id=uuid.uuid4(),
            owner_id=user.id,
            filename="keynote.mp4",
            total_size=1_000_000,
            sha256="0" * 64,
            chunk_size=1_000_000,
            total_chunks=1,
            received_bytes=1_000_000,
            status="finalized",
            path=str(runtime.settings.home_dir / "uploads" / "keynote.mp4"),
        )
        session.add(upload)
    token = issue_access_token(
        runtime.settings, user_id=user.id, username=user.username, role="user", token_version=0
    )
    return token, str(upload.id)


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
    raise SystemExit(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _client(args: tuple[int, dict[str, str], bytes, float]) -> tuple[list[float], int]:
    """One client process: one keep-alive connection, requests back to back."""
    port, headers, body, duration = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration
    while True:
        started = time.perf_counter()
        if started >= deadline:
            break
        connection.request("POST", PATH, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        errors += response.status != 201
    connection.close()
    return latencies, errors


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process (utime + stime, Linux /proc): its writer thread included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _switch(port: int, state: str) -> dict[str, int]:
    response = httpx.get(f"http://127.0.0.1:{port}{SWITCH}", params={"state": state}, timeout=60)
    response.raise_for_status()
    return dict(response.json())


def _round(
    pool: Any, port: int, pid: int, headers: dict[str, str], body: bytes, options: Any
) -> dict[str, float]:
    cpu = _cpu_s(pid)
    started = time.perf_counter()
    results = pool.map(_client, [(port, headers, body, options.duration)] * options.clients)
    wall = time.perf_counter() - started
    cpu = _cpu_s(pid) - cpu
    latencies = sorted(value for values, _ in results for value in values)
    count = len(latencies)
    return {
        "requests": count,
        "rps": count / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(count - 1, int(count * 0.99))] * 1000,
        "errors": sum(errors for _, errors in results),
        "cpu_ms": cpu * 1000 / max(1, count),
    }


def _order(rounds: int) -> list[bool]:
    """ABBA pairs: on, off, off, on, on, off, ... (True: with the store handler)."""
    return [(index % 4) in (0, 3) for index in range(rounds * 2)]


Run = tuple[bool, dict[str, float]]  # (with the store handler, the round's figures)


def measure(
    port: int, pid: int, token: str, upload_id: str, options: argparse.Namespace, state: str
) -> tuple[list[Run], dict[str, int]]:
    """ABBA rounds: the store handler (`state`: as is, or the lingering writer) or none."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"upload_id": upload_id, "title": "bench keynote"}).encode()
    runs: list[Run] = []
    store = dict.fromkeys(("written", "dropped", "failed_batches", "batches", "requests"), 0)
    with multiprocessing.get_context("fork").Pool(options.clients) as pool:
        _switch(port, state)
        warm = argparse.Namespace(clients=options.clients, duration=options.warmup)
        _round(pool, port, pid, headers, body, warm)
        for index, with_store in enumerate(_order(options.rounds)):
            before = _switch(port, state if with_store else "off")
            result = _round(pool, port, pid, headers, body, options)
            after = _switch(port, "off")  # waits until the store wrote this round's records
            runs.append((with_store, result))
            delta = {key: after[key] - before[key] for key in store if key != "requests"}
            if with_store:
                for key, value in delta.items():
                    store[key] += value
                store["requests"] += int(result["requests"])
            label = "store   " if with_store else "no store"
            rows = delta["written"] / max(1, delta["batches"])
            print(
                f"round {index + 1:>2} {label}  {result['rps']:7.1f} req/s  p50 "
                f"{result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms  server CPU "
                f"{result['cpu_ms']:5.2f} ms/req  errors {result['errors']:.0f}  "
                + (
                    f"written {delta['written']} in {delta['batches']} INSERTs "
                    f"({rows:.1f}/INSERT), dropped {delta['dropped']}"
                    if with_store
                    else ""
                )
            )
    return runs, store


def summarize(runs: list[Run], store: dict[str, int]) -> None:
    figures = {
        label: [result for with_store, result in runs if with_store is flag]
        for label, flag in (
            ("with the store handler   ", True),
            ("without the store handler", False),
        )
    }
    medians = {}
    for label, results in figures.items():
        medians[label] = statistics.median(result["rps"] for result in results)
        print(
            f"{label}  {medians[label]:7.1f} req/s (median of {len(results)} rounds)  p50 "
            f"{statistics.median(result['p50_ms'] for result in results):.2f} ms  p99 "
            f"{statistics.median(result['p99_ms'] for result in results):.2f} ms  server CPU "
            f"{statistics.median(result['cpu_ms'] for result in results):.2f} ms/req"
        )
    with_rps, without_rps = medians.values()
    # Each store round against the no-store round of its ABBA pair (rounds 1-2, 3-4, ...).
    pairs = [
        (first if first[0] else second)[1]["rps"] / (second if first[0] else first)[1]["rps"]
        for first, second in zip(runs[::2], runs[1::2], strict=True)
    ]
    ratio = with_rps / without_rps
    verdict = "met" if ratio >= AIM else "MISSED"
    print(
        f"ratio {ratio:.3f} (aim >= {AIM}: {verdict}); per ABBA pair "
        + " ".join(f"{value:.3f}" for value in pairs)
        + f" (median {statistics.median(pairs):.3f})"
    )
    print(
        f"store: {store['written']} records written for {store['requests']} requests "
        f"({store['written'] / max(1, store['requests']):.2f} per request) in "
        f"{store['batches']} INSERTs ({store['written'] / max(1, store['batches']):.1f} per "
        f"INSERT), dropped {store['dropped']}, failed batches {store['failed_batches']}"
    )


def emit_costs(port: int, options: argparse.Namespace, request_cpu_ms: float) -> None:
    """The handler's own CPU per record, in the server process: no client, no noise of a
    shared machine's scheduling; each state twice, interleaved."""
    states = ("off", "on", "linger")
    found: dict[str, list[dict[str, float]]] = {state: [] for state in states}
    for _ in range(2):
        for state in states:
            response = httpx.get(
                f"http://127.0.0.1:{port}/_bench/emit",
                params={"state": state, "records": options.records, "gap_ms": options.gap_ms},
                timeout=300,
            )
            response.raise_for_status()
            found[state].append(response.json())
    cpu = {state: statistics.median(run["cpu_us"] for run in runs) for state, runs in found.items()}
    caller = {
        state: statistics.median(run["caller_us"] for run in runs) for state, runs in found.items()
    }
    print(
        f"\nper record, {options.records} records {options.gap_ms:.0f} ms apart, in the server "
        "process (CPU of every thread, the writer's included):"
    )
    for state, label in (
        ("off", "JSON stderr handler only"),
        ("on", "+ store handler, as is"),
        ("linger", f"+ store handler, writer lingering {options.linger_ms:.0f} ms"),
    ):
        line = f"  {label:<40} {cpu[state]:5.0f} us CPU, {caller[state]:5.1f} us in logger.info"
        if state != "off":
            # What that CPU would cost a CPU-bound server: request / (request + store).
            extra_ms = (cpu[state] - cpu["off"]) / 1000
            expected = request_cpu_ms / (request_cpu_ms + extra_ms)
            line += (
                f"; the store's {extra_ms * 1000:.0f} us = {extra_ms / request_cpu_ms:.1%} of "
                f"a job creation's {request_cpu_ms:.2f} ms -> ratio ~{expected:.3f}"
            )
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="ABBA rounds of each kind")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per round")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not counted")
    parser.add_argument("--clients", type=int, default=4, help="client processes (connections)")
    parser.add_argument(
        "--postgres", default=os.environ.get("AGENTOS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--redis", default=os.environ.get("AGENTOS_TEST_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--linger-ms", type=float, default=100.0, help="the what-if's linger")
    parser.add_argument(
        "--records", type=int, default=1000, help="records per handler CPU measure (0: none)"
    )
    parser.add_argument("--gap-ms", type=float, default=7.0, help="between those records")
    parser.add_argument(
        "--no-what-if", action="store_true", help="skip the lingering writer's rounds"
    )
    options = parser.parse_args()
    if options.rounds % 2:
        parser.error("--rounds must be even (ABBA pairs)")

    name = f"agentos_bench_logs_{uuid.uuid4().hex[:10]}"
    home = Path(tempfile.mkdtemp(prefix="agentos-bench-logs-"))
    database_url = make_url(options.postgres).set(database=name)
    settings = Settings(
        home=home,
        database_url=database_url.render_as_string(hide_password=False),
        redis_url=options.redis,
        redis_key_prefix=f"bench-logs-{uuid.uuid4().hex[:8]}:",
    )
    _admin(options.postgres, f'CREATE DATABASE "{name}"')
    runtime = Runtime(settings)
    server: subprocess.Popen[bytes] | None = None
    try:
        token, upload_id = _prepare(runtime)
        settings.signing_key()  # the key file the server verifies the token with
        env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTOS_")}
        env.update(
            AGENTOS_HOME=str(home),
            AGENTOS_DATABASE_URL=settings.resolved_database_url,
            AGENTOS_REDIS_URL=options.redis,
            AGENTOS_REDIS_KEY_PREFIX=settings.redis_key_prefix,
            AGENTOS_EMBEDDED_WORKERS="false",
            AGENTOS_RATELIMIT_USER_PER_MIN=str(UNLIMITED),
            AGENTOS_LOG_LEVEL="INFO",
        )
        port = _free_port()
        server = _start(
            [sys.executable, "-c", SERVER, str(port), str(options.linger_ms / 1000)],
            env,
            home / "server.log",
            f"http://127.0.0.1:{port}/health",
        )
        print(
            f"server pid {server.pid} on 127.0.0.1:{port}; {options.clients} clients, "
            f"{options.rounds} + {options.rounds} rounds of {options.duration:.0f} s, "
            f"POST {PATH} (logs 'job created' at INFO)"
        )
        print("\nthe store handler as is, against none")
        runs, store = measure(port, server.pid, token, upload_id, options, "on")
        summarize(runs, store)
        request_cpu_ms = statistics.median(result["cpu_ms"] for flag, result in runs if not flag)
        if not options.no_what_if:
            print(
                f"\nwhat-if: the writer lingers {options.linger_ms:.0f} ms after the first "
                "record of a batch (records of that time in one INSERT), against none"
            )
            runs, store = measure(port, server.pid, token, upload_id, options, "linger")
            summarize(runs, store)
        if options.records:
            emit_costs(port, options, request_cpu_ms)
        with runtime.session() as session:
            stored = session.scalar(select(func.count()).select_from(LogRecord))
        print(f"log_records rows at the end: {stored} (warm-up included)")
    finally:
        if server is not None:
            _stop(server)
        runtime.close()
        _admin(options.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)
        for role in REDIS_DB_BY_ROLE:
            client = redis.Redis.from_url(settings.redis_url_for(role))  # type: ignore[arg-type]
            keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


if __name__ == "__main__":
    main()
