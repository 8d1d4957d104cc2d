"""Backup and restore of a large PostgreSQL database through the admin actions, against
plain `pg_dump -Fc` and `pg_restore` of the same database, in one run.

    python scripts/bench_backup.py [--jobs 1000000] [--rounds 1]

1. Creates a PostgreSQL database and a Redis key prefix (both removed at the end) and
   seeds `--jobs` jobs (with their steps, clips and events) through the seed service.
2. Starts `agentos serve` on it and, per round, alternating baseline and action:
   - `pg_dump --format=custom -f FILE` (the client of the server's major version), then
     `POST /api/admin/action system.backup`;
   - `pg_restore --no-owner -d FRESH FILE` into a new empty database, then
     `system.restore` of the action's backup (confirm) into the live one.
3. Prints each time, the ratio baseline / action (goal >= 0.9: the action at most ~10 %
   slower than the bare tools, for everything it adds: checksum, catalog, audit export,
   maintenance, rollups, one transaction) and the server's peak RSS (with children)
   sampled every 50 ms while the actions ran, against its RSS before.

Environment: AGENTOS_TEST_POSTGRES_URL / AGENTOS_TEST_REDIS_URL as in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil
import psycopg
import redis
from sqlalchemy.engine import make_url

from agentos.db.migrate import ensure_schema
from agentos.schemas.seed import SeedOptions
from agentos.services import seed
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.services.security.tokens import issue_access_token
from agentos.services.system import pg_tools
from agentos.settings import Settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
STARTUP_S = 60.0
MIB = 1024 * 1024


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(url: str, sql: str) -> None:
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


class PeakMemory:
    """The peak RSS of a process and its children, sampled in a thread."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTOS_")}
    env.update(
        AGENTOS_HOME=str(settings.home_dir),
        AGENTOS_DATABASE_URL=settings.resolved_database_url,
        AGENTOS_REDIS_URL=settings.redis_url or "",
        AGENTOS_REDIS_KEY_PREFIX=settings.redis_key_prefix,
    )
    agentos = Path(sys.executable).with_name("agentos")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(agentos), "serve", "--port", str(port)],
            env=env,
            cwd=settings.home_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not come up:\n{log.read_text()[-3000:]}")


def _token(runtime: Runtime) -> str:
    with runtime.session() as session:
        user, _ = users.create(
            session, username=f"bench-{uuid.uuid4().hex[:6]}", role="admin", password="x" * 16
        )
    return issue_access_token(
        runtime.settings, user_id=user.id, username=user.username, role="admin", token_version=0
    )


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _action(base: str, token: str, name: str, payload: dict[str, object]) -> tuple[float, dict]:
    started = time.perf_counter()
    response = httpx.post(
        f"{base}/api/admin/action",
        json={"action": name, "payload": payload},
        headers={"Authorization": f"Bearer {token}"},
        timeout=None,
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{name} failed: {response.status_code} {response.text[:500]}")
    result: dict = response.json()["data"]["result"]
    return elapsed, result


def _round(
    runtime: Runtime, admin_url: str, base: str, token: str, workdir: Path, peak: PeakMemory
) -> dict[str, float]:
    engine = runtime.engine
    major, full = pg_tools.server_version(engine)
    pg_dump = pg_tools.client("pg_dump", major=major, server=full, bin_dir=None)
    pg_restore = pg_tools.client("pg_restore", major=major, server=full, bin_dir=None)
    env = pg_tools.environment(engine.url)
    dump = workdir / f"baseline-{uuid.uuid4().hex[:6]}.dump"

    figures: dict[str, float] = {}
    figures["pg_dump"] = _timed([pg_dump, "--format=custom", "-f", str(dump)], env)
    figures["system.backup"], backup = _action(base, token, "system.backup", {"label": "bench"})
    figures["dump_mib"] = dump.stat().st_size / MIB
    figures["backup_mib"] = backup["size_bytes"] / MIB

    fresh = f"agentos_bench_restore_{uuid.uuid4().hex[:8]}"
    _admin(admin_url, f'CREATE DATABASE "{fresh}"')
    try:
        fresh_env = {**env, "PGDATABASE": fresh}
        figures["pg_restore"] = _timed(
            [pg_restore, "--no-owner", "-d", fresh, str(dump)], fresh_env
        )
    finally:
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
    payload = {"backup_id": backup["id"], "confirm": True}
    figures["system.restore"], _ = _action(base, token, "system.restore", payload)
    dump.unlink()
    figures["peak_rss_mib"] = peak.peak / MIB
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    admin_url = os.environ.get("AGENTOS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    redis_url = os.environ.get("AGENTOS_TEST_REDIS_URL", DEFAULT_REDIS)
    name = f"agentos_bench_backup_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-backup-{uuid.uuid4().hex[:8]}:"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="agentos-bench-backup-"))
    settings = Settings(
        home=workdir / "home",
        database_url=_database_url(admin_url, name),
        redis_url=redis_url,
        redis_key_prefix=prefix,
    )
    settings.ensure_home()
    settings.signing_key()
    runtime = Runtime(settings)
    server: subprocess.Popen[bytes] | None = None
    try:
        ensure_schema(runtime.engine)
        print(f"seeding {args.jobs:,} jobs ...", flush=True)
        started = time.perf_counter()
        result = seed.reset_and_seed(
            runtime, options=SeedOptions(jobs=args.jobs, events=args.events)
        )
        print(f"  {result.total_rows:,} rows in {time.perf_counter() - started:.1f} s")
        token = _token(runtime)
        port = 8000 + int(uuid.uuid4().int % 1000)
        server = _serve(settings, port, workdir / "server.log")
        base = f"http://127.0.0.1:{port}"
        memory = PeakMemory(server.pid)
        idle_rss = memory.rss()
        with memory:
            rounds = [
                _round(runtime, admin_url, base, token, workdir, memory) for _ in range(args.rounds)
            ]
        for index, figures in enumerate(rounds, 1):
            print(f"round {index}:")
            print(
                f"  backup   pg_dump {figures['pg_dump']:.2f} s ({figures['dump_mib']:.0f} MiB)"
                f"  action {figures['system.backup']:.2f} s ({figures['backup_mib']:.0f} MiB)"
                f"  ratio {figures['pg_dump'] / figures['system.backup']:.2f}"
            )
            print(
                f"  restore  pg_restore {figures['pg_restore']:.2f} s"
                f"  action {figures['system.restore']:.2f} s"
                f"  ratio {figures['pg_restore'] / figures['system.restore']:.2f}"
            )
        print(
            f"server RSS: {idle_rss / MIB:.0f} MiB before, peak {memory.peak / MIB:.0f} MiB "
            "while the actions ran (with its children: pg_dump, pg_restore, psql)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        runtime.close()
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client = redis.Redis.from_url(redis_url)
        for db in range(5):
            scoped = redis.Redis.from_url(redis_url, db=db)
            keys = list(scoped.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                scoped.delete(*keys)
        client.close()


if __name__ == "__main__":
    main()
