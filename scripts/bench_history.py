"""`GET /api/jobs/history` (and the other paged lists) at 1,000,000 jobs on PostgreSQL,
against `/health` in the same run.

    python scripts/bench_history.py [--server postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--jobs 1000000] [--requests 300] [--redis redis://127.0.0.1:6379/0 | --no-redis]
        [--database NAME | --keep NAME] [--status-index] [--source DIR] [--only WORDS]

Creates a scratch database, seeds it through `agentos.services.seed` (bulk COPY), gives a new
user 10,000 of the jobs, VACUUM ANALYZEs (as autovacuum would on a live system), starts a real
`agentos serve` (embedded workers off, rate limits raised) and times, interleaved, each case
below and `GET /health` (one `SELECT 1` through the same pool) as the baseline. Prints p50/p99
per case and their ratio to the baseline, then drops the database.

Cases (issue 19): the first page, a deep page by cursor (the `next_cursor` of page 25,000,
500,000 jobs in, asked for again each round), the same with filters (status, a time range, a
title search, another order), for a staff user and for the user with 10,000 jobs, the queue
and an agent's log by cursor; `page=3` as measured before cursors; and deep pages asked by
number (`page=25000` newest first and in every other order, page 3,000 of the failed jobs,
page 2,000 of a title search: what a client without cursors pays).

`--heartbeats N` keeps N jobs "running" while the cases are timed: each gets a progress
update every half second (one transaction each, as a stage's heartbeat), and the deltas are
compacted every 5 s, as the warmer would (both from the measured checkout, `--source`).
`--churn` adds, every half second, a job created and a job moved to or from "completed"
(uploads arriving, jobs finishing): writes every list sees, whatever its order.

`--database NAME` reuses (and keeps) an already seeded database; `--keep NAME` seeds NAME the
first time and reuses it afterwards (the seed of a million jobs takes minutes: printed).
`--status-index` creates `jobs (status, created_at DESC, id DESC)` first, to show what that
index would buy. `--source DIR` runs the server from another checkout (e.g. a `git worktree`
of an older commit) to measure a before/after on the same data. `--only WORDS` runs only the
cases whose name contains one of the comma-separated words.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import psycopg
import redis
from sqlalchemy.engine import make_url

from agentos.schemas.seed import SeedOptions
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.services.security.tokens import issue_access_token
from agentos.services.seed import reset_and_seed
from agentos.settings import REDIS_DB_BY_ROLE, Settings

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
USER_JOBS = 10_000
PATH = "/api/jobs/history"
PAGE: dict[str, str | int] = {"page": 3, "per_page": 20}
FIRST: dict[str, str | int] = {"per_page": 20}
DEEP_PAGE = 25_000  # 500,000 jobs in at 20 a page
STATUS_INDEX = "bench_jobs_status_created_at"
Case = tuple[str, dict[str, str | int], str | None]
HEARTBEAT_S = 0.5
COMPACT_S = 5.0
COMPACT = textwrap.dedent(
    """
    import sys
    from agentos.services.jobs import rollups
    from agentos.services.runtime import Runtime
    from agentos.settings import Settings

    runtime = Runtime(Settings(home=sys.argv[2], database_url=sys.argv[1], redis_url=None))
    with runtime.session() as session:
        rollups.compact(session)
    """
)
HEARTBEATS = textwrap.dedent(
    f"""
    import random, sys, time
    from sqlalchemy import select, update
    from agentos.db.base import utcnow
    from agentos.db.models import Job
    from agentos.services.jobs import rollups
    from agentos.services.runtime import Runtime
    from agentos.settings import Settings

    runtime = Runtime(Settings(home=sys.argv[3], database_url=sys.argv[1], redis_url=None))
    churn = sys.argv[4] == "churn"
    with runtime.read_session() as session:
        running = select(Job.id).order_by(Job.status != "processing").limit(int(sys.argv[2]))
        ids = list(session.scalars(running))
        finishing = list(session.scalars(select(Job.id).where(Job.status == "processing")
                                         .order_by(Job.id.desc()).limit(100)))  # fmt: skip
    compacted, created = time.monotonic(), 0
    while True:
        started = time.monotonic()
        for job_id in ids:
            with runtime.session() as session:
                beat = {{"progress": random.random(), "updated_at": utcnow()}}
                session.execute(update(Job).where(Job.id == job_id).values(**beat))
        if churn:  # a job uploaded, and one finishing (then running again, next time round)
            with runtime.session() as session:
                created += 1
                session.add(Job(title=f"churn {{created}}", status="queued", created_at=utcnow()))
            with runtime.session() as session:
                job = session.get(Job, random.choice(finishing))
                job.status = "completed" if job.status == "processing" else "processing"
        if started - compacted >= {COMPACT_S}:
            with runtime.session() as session:
                rollups.compact(session)
            compacted = started
        time.sleep(max(0.0, {HEARTBEAT_S} - (time.monotonic() - started)))
    """
)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def run_sql(url: str, *statements: str) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        for sql in statements:
            connection.execute(sql.encode())


def table_exists(url: str, name: str) -> bool:
    with psycopg.connect(libpq(url)) as connection:
        found = connection.execute("SELECT to_regclass(%s)", (name,)).fetchone()
    return found is not None and found[0] is not None


def database_exists(server: str, name: str) -> bool:
    with psycopg.connect(libpq(server), autocommit=True) as connection:
        found = connection.execute(b"SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


@contextmanager
def scratch_database(
    server: str, reuse: str | None, keep: str | None = None
) -> Iterator[tuple[str, bool]]:
    """(database URL, freshly created); a created database is dropped at the end, unless
    it is `keep` (seeded once, then reused by the next runs)."""
    if reuse:
        yield with_database(server, reuse), False
        return
    if keep:
        fresh = not database_exists(server, keep)
        if fresh:
            run_sql(server, f'CREATE DATABASE "{keep}"')
        yield with_database(server, keep), fresh
        return
    name = f"agentos_bench_history_{uuid.uuid4().hex[:10]}"
    run_sql(server, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server, name), True
    finally:
        run_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(runtime: Runtime, jobs: int) -> None:
    started = time.perf_counter()
    result = reset_and_seed(runtime, options=SeedOptions(jobs=jobs, events=100, seed=1))
    if result.problems:
        raise SystemExit(f"seed verification failed: {result.problems}")
    print(
        f"seeded {jobs:,} jobs ({result.total_rows:,} rows) in {time.perf_counter() - started:.0f} s"
    )


def make_callers(runtime: Runtime, database: str, source: Path | None) -> dict[str, str]:
    """Tokens of a staff user and of a user owning USER_JOBS of the seeded jobs."""
    tag = uuid.uuid4().hex[:6]
    tokens: dict[str, str] = {}
    ids: dict[str, uuid.UUID] = {}
    with runtime.session() as session:
        for key, role in (("staff", "admin"), ("user", "user")):
            user, _ = users.create(session, username=f"bench-{key}-{tag}", role=role,
                                   password="bench-password-123")  # fmt: skip
            ids[key] = user.id
            tokens[key] = issue_access_token(runtime.settings, user_id=user.id, username=user.username,
                                             role=user.role, token_version=0, ttl_s=3600)  # fmt: skip
    # Spread over the whole history (ids are random), not just the newest jobs.
    run_sql(
        database,
        f"UPDATE jobs SET owner_id = '{ids['user']}' WHERE id IN "
        f"(SELECT id FROM jobs ORDER BY id LIMIT {USER_JOBS})",
    )
    # Fold the owner changes' deltas, as the warmer would, with the measured checkout's code
    # (`--source`: its schema may be older).
    subprocess.run(
        [sys.executable, "-c", COMPACT, database, str(runtime.settings.home / "compact")],
        env=source_env(source),
        cwd=source,
        check=True,
    )
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    settings: Settings, port: int, source: Path | None, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTOS_HOME": str(settings.home),
        "AGENTOS_DATABASE_URL": str(settings.database_url),
        "AGENTOS_EMBEDDED_WORKERS": "false",
        "AGENTOS_RATELIMIT_PUBLIC_PER_MIN": "10000000",
        "AGENTOS_RATELIMIT_USER_PER_MIN": "10000000",
        # The admin read-model warmer rebuilds from every job each few seconds; at a million
        # jobs that is a second, unrelated load on the same two cores. Measured apart.
        "AGENTOS_SSOT_WARM_INTERVAL_S": "3600",
    }
    env.pop("AGENTOS_REDIS_URL", None)
    if settings.redis_url:
        env["AGENTOS_REDIS_URL"] = settings.redis_url
        env["AGENTOS_REDIS_KEY_PREFIX"] = settings.redis_key_prefix
    if source is not None:
        env["PYTHONPATH"] = str(source)
    command = [sys.executable, "-c", "from agentos.cli.main import app; app()", "serve",
               "--port", str(port)]  # fmt: skip
    with open(log, "wb") as out:
        # From `source` itself: `python -c` looks in the working directory first.
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=source
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
        if process.poll() is not None:
            break
    process.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")


def source_env(source: Path | None) -> dict[str, str]:
    """The environment that runs Python from `source` (with `cwd=source`)."""
    return {**os.environ, **({"PYTHONPATH": str(source)} if source is not None else {})}


def start_heartbeats(
    settings: Settings, running: int, source: Path | None, churn: bool = False
) -> subprocess.Popen[bytes] | None:
    """`running` jobs' heartbeats and the compaction, from `source` like the server; with
    `churn`, a job created and another moved to or from "completed" every heartbeat."""
    if not running:
        return None
    env = source_env(source)
    command = [sys.executable, "-c", HEARTBEATS, str(settings.database_url), str(running),
               str(settings.home / "heartbeats"), "churn" if churn else "steady"]  # fmt: skip
    print(f"{running} jobs running: a progress update each every {HEARTBEAT_S} s"
          + (f"; every {HEARTBEAT_S} s a job created and one finishing" if churn else ""))  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=source)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def deep_cursor(
    client: httpx.Client, path: str, params: dict[str, str | int], token: str
) -> str | None:
    """The cursor after page DEEP_PAGE (or the last page of a shorter list): fetched once,
    by number, then every round reads the page after it by cursor. None from a server
    without cursors (`--source` of a version before them)."""
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.get(path, params={**params, "page": DEEP_PAGE}, headers=headers).json()
    if "next_cursor" not in answer["pagination"]:
        return None
    cursor = answer["pagination"]["next_cursor"]
    if cursor is None:  # shorter than DEEP_PAGE pages: from its last page but one
        pages = answer["pagination"]["total_pages"]
        page = {**params, "page": max(1, pages - 1)}
        answer = client.get(path, params=page, headers=headers).json()
        cursor = answer["pagination"]["next_cursor"]
    if cursor is None:
        raise SystemExit(f"{path} {params}: one page only, no deep cursor")
    return str(cursor)


def build_cases(client: httpx.Client, tokens: dict[str, str], only: list[str]) -> dict[str, Case]:
    """Every case: (path, query, caller); deep ones carry a cursor fetched here once."""
    since = "2000-01-01T00:00:00Z"
    lists: dict[str, tuple[str, dict[str, str | int], str]] = {
        "staff, no filter": (PATH, FIRST, "staff"),
        "staff, status=failed": (PATH, {**FIRST, "status": "failed"}, "staff"),
        "staff, created_from": (PATH, {**FIRST, "created_from": since}, "staff"),
        "staff, sort=title asc": (PATH, {**FIRST, "sort": "title", "order": "asc"}, "staff"),
        "staff, search=keynote": (PATH, {**FIRST, "search": "keynote"}, "staff"),
        "user 10k, no filter": (PATH, FIRST, "user"),
        "user 10k, status=failed": (PATH, {**FIRST, "status": "failed"}, "user"),
        "staff, queue": ("/api/queue/details", FIRST, "staff"),
        "staff, agent log": ("/api/agents/logs/scenes", FIRST, "staff"),
    }
    cases: dict[str, Case] = {"baseline GET /health": ("/health", {}, None)}
    cases["before: staff page=3"] = (PATH, PAGE, "staff")
    cases["before: user 10k page=3"] = (PATH, PAGE, "user")
    for name, (path, params, who) in lists.items():
        if only and not any(word in name for word in only):
            continue
        cases[f"{name}, first page"] = (path, params, who)
        cursor = deep_cursor(client, path, params, tokens[who])
        if cursor is not None:
            cases[f"{name}, deep by cursor"] = (path, {**params, "cursor": cursor}, who)
    # Pages by number in the middle: newest first (the whole creation hours before the
    # page are left out, counted by the rollups), and in the other orders and a title
    # search (after the list's anchors, `agentos/services/jobs/anchors.py`).
    by_number = {
        f"staff, page={DEEP_PAGE} (OFFSET)": {"page": DEEP_PAGE},
        "staff, status=failed, page=3000 (OFFSET)": {"page": 3_000, "status": "failed"},
        f"staff, sort=title asc, page={DEEP_PAGE} (OFFSET)": {"sort": "title", "order": "asc"},
        f"staff, sort=status, page={DEEP_PAGE} (OFFSET)": {"sort": "status"},
        "staff, search=keynote, page=2000 (by number)": {"search": "keynote", "page": 2_000},
        f"staff, sort=priority, page={DEEP_PAGE} (OFFSET)": {"sort": "priority"},
        f"staff, sort=updated_at asc, page={DEEP_PAGE} (OFFSET)": {
            "sort": "updated_at",
            "order": "asc",
        },
        f"staff, sort=progress, page={DEEP_PAGE} (OFFSET)": {"sort": "progress"},
        f"staff, sort=attempts, page={DEEP_PAGE} (OFFSET)": {"sort": "attempts"},
        f"staff, sort=current_stage, page={DEEP_PAGE} (OFFSET)": {"sort": "current_stage"},
    }
    for name, params in by_number.items():
        if not only or any(word in name for word in only):
            cases[name] = (PATH, {**FIRST, "page": DEEP_PAGE, **params}, "staff")
    return cases


def measure(port: int, tokens: dict[str, str], requests: int, only: list[str]) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        cases = build_cases(client, tokens, only)
    timings: dict[str, list[float]] = {name: [] for name in cases}
    totals: dict[str, int] = {}
    reused: dict[str, int] = dict.fromkeys(cases, 0)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for round_ in range(requests + 10):  # 10 warm-up rounds
            for name, (path, params, who) in cases.items():
                headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
                started = time.perf_counter()
                response = client.get(path, params=params, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {response.status_code} {response.text[:300]}")
                if round_ < 10:
                    continue
                timings[name].append(elapsed)
                pagination = response.json().get("pagination")
                if pagination:
                    totals[name] = pagination["total"]
                    reused[name] += pagination.get("total_counted_at") is not None
    report(timings, totals, reused, requests)


def report(
    timings: dict[str, list[float]], totals: dict[str, int], reused: dict[str, int], n: int
) -> None:
    base = timings["baseline GET /health"]
    base50, base99 = percentile(base, 0.5), percentile(base, 0.99)
    print(f"\n{n} requests per case, interleaved, one keep-alive client")
    print(
        f"{'case':46} {'p50 ms':>8} {'p99 ms':>8} {'x p50':>7} {'x p99':>7} {'total':>9} {'cached':>7}"
    )
    for name, samples in timings.items():
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        total = f"{totals[name]:,}" if name in totals else "-"
        cached = f"{reused[name] / n:.0%}" if name in totals else "-"
        print(f"{name:46} {p50:8.2f} {p99:8.2f} {p50 / base50:7.2f} {p99 / base99:7.2f} "
              f"{total:>9} {cached:>7}")  # fmt: skip
    print("x = ratio to the /health baseline; cached = share of answers whose total came "
          "from the count cache (pagination.total_counted_at set: when it was last known exact)")  # fmt: skip


def clear_redis(settings: Settings) -> None:
    if not settings.redis_url:
        return
    for role in REDIS_DB_BY_ROLE:
        client = redis.Redis.from_url(settings.redis_url_for(role))  # type: ignore[arg-type]
        keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--no-redis", action="store_true", help="in-process cache instead")
    parser.add_argument("--database", help="reuse this seeded database (kept)")
    parser.add_argument("--keep", help="seed this database once, reuse it on later runs")
    parser.add_argument("--only", default="", help="only cases naming one of these words")
    parser.add_argument("--status-index", action="store_true")
    parser.add_argument("--source", type=Path, help="run the server from this checkout")
    parser.add_argument("--heartbeats", type=int, default=0, help="running jobs while timed")
    parser.add_argument("--churn", action="store_true", help="with --heartbeats: jobs come and go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentos-bench-history-") as tmp, \
            scratch_database(args.server, args.database, args.keep) as (database, fresh):  # fmt: skip
        settings = Settings(
            home=Path(tmp),
            database_url=database,
            redis_url=None if args.no_redis else args.redis,
            redis_key_prefix=f"agentos-bench-{uuid.uuid4().hex[:8]}:",
        )
        with closing(Runtime(settings)) as runtime:
            if fresh:
                seed(runtime, args.jobs)
            tokens = make_callers(runtime, database, args.source)
        if args.status_index:
            run_sql(database, f"CREATE INDEX IF NOT EXISTS {STATUS_INDEX} "
                              "ON jobs (status, created_at DESC, id DESC)")  # fmt: skip
        run_sql(
            database,
            "VACUUM ANALYZE jobs",
            "VACUUM ANALYZE processing_steps",
            # The seed's deltas, folded and deleted: the warmer's `rollups.vacuum_if_dead`
            # would remove them, but this run's warmer is idle (AGENTOS_SSOT_WARM_INTERVAL_S).
            "VACUUM ANALYZE job_status_deltas, job_status_rollup",
        )
        if table_exists(database, "job_progress_marks"):  # migration 0019 on
            run_sql(database, "VACUUM ANALYZE job_progress_marks")
        port = free_port()
        server = start_server(settings, port, args.source, Path(tmp) / "serve.log")
        beating = start_heartbeats(settings, args.heartbeats, args.source, args.churn)
        try:
            measure(port, tokens, args.requests, [w for w in args.only.split(",") if w])
        finally:
            for process in (server, beating):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)
            clear_redis(settings)
            if args.status_index and not fresh:  # leave a kept database as it was
                run_sql(database, f"DROP INDEX IF EXISTS {STATUS_INDEX}")


if __name__ == "__main__":
    main()
