"""`logs.search` latency on PostgreSQL with a million stored log records, in one run.

    python scripts/bench_log_search.py [--records 1000000] [--searches 100] [--limit 100]

1. Creates a PostgreSQL database (dropped at the end) migrated through Alembic, so
   `log_records` has exactly the indexes of the migrations (the pg_trgm GIN index too).
2. Bulk-loads `--records` realistic rows with COPY: jobs whose records share a trace id
   and a job id (created by a server, then every stage started/finished on a worker,
   some failing with a traceback), failed requests, admin actions, beat and background
   warnings, an outage burst; sources `server@api-1:pid` etc. across restarts; spread
   over `--days` days, in time order as the writer appends them. The secondary indexes
   are dropped for the load and rebuilt from their own definitions, then ANALYZE.
3. Times `agentos.services.logs.search.find` (one unit of work per search, what the
   `logs.search` action runs; the result models built) for a mix of searches with
   parameters drawn from the loaded data: latest, by trace id, by job id, level+source,
   text contains (with and without a window), since/until windows; each that has one
   also follows its keyset cursor to page 2, and a few follow it `--deep-pages` deep.
   Prints p50/p95/p99/max per kind and overall against the aim (`--target-ms`, 50 ms).
4. For every kind whose p99 misses the aim: EXPLAIN (ANALYZE, BUFFERS) of its slowest
   search, the very SQL and parameters `find` sent (`--no-explain` skips it).

Environment: AGENTOS_TEST_POSTGRES_URL as in the test suite (or --postgres).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from agentos.db.migrate import ensure_schema
from agentos.schemas.actions_logs import LogSearchPayload
from agentos.services.logs.search import find
from agentos.services.runtime import Runtime
from agentos.settings import Settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
COPY_CHUNK = 50_000
STAGES = ("ingest", "probe", "scenes", "clipper", "thumbs", "publish")
TITLES = (
    "Keynote",
    "Quarterly review",
    "Product launch",
    "Interview",
    "Webinar",
    "Town hall",
    "Podcast episode",
    "Training session",
    "Match highlights",
    "Conference talk",
    "Customer story",
    "Demo day",
)
USERS = tuple(f"user{n:03d}" for n in range(60)) + ("admin", "ops", "alice", "bob")
ERROR_CODES = (
    ("job {id} not found", "JOB_NOT_FOUND"),
    ("upload {id} not found", "UPLOAD_NOT_FOUND"),
    ("the upload is not finalised yet", "UPLOAD_NOT_FINALIZED"),
    ("only failed or cancelled jobs can be retried; this one is running", "INVALID_TRANSITION"),
    ("title must be 1-255 characters", "INVALID_TITLE"),
    ("not allowed: readonly users cannot create jobs", "FORBIDDEN"),
)
STAGE_FAILURES = (
    "ffmpeg exited with status 1: Invalid data found when processing input",
    "timeout after 600 s waiting for the transcoder",
    "no scenes detected above threshold 0.42",
    "disk full writing thumbnails (28 bytes left)",
    "connection reset by peer while uploading to the CDN",
)
# Text searches people type: common words, rare words, codes, pasted ids, short strings.
QUERIES = (
    "timeout",
    "not found",
    "JOB_NOT_FOUND",
    "ffmpeg",
    "crashed",
    "unavailable",
    "disk full",
    "attempt 2",
    "Keynote",
    "finished in",
    "started",
    "config.set",
    "connection reset",
)


@dataclass
class Loaded:
    """What the load produced, to draw search parameters from."""

    traces: list[str] = field(default_factory=list)
    jobs: list[uuid.UUID] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    start: datetime = datetime.now(UTC)
    end: datetime = datetime.now(UTC)


# --- data ------------------------------------------------------------------------------


class Sources:
    """Process labels as `process_label` writes them, a new pid after every restart."""

    def __init__(self, rng: random.Random, start: float, days: int) -> None:
        self.rng = rng
        self.start = start
        self.hosts = {
            "server": ["api-1", "api-2"],
            "worker": ["worker-1", "worker-2", "worker-3", "worker-4"],
            "beat": ["ops-1"],
        }
        # Restarts: a deploy every ~3 days (every process), plus a few crashes.
        deploys = sorted(start + rng.uniform(0, days * 86400) for _ in range(max(1, days // 3)))
        self.epochs = [start, *deploys]
        self.pids = {
            (kind, host, epoch): rng.randint(1000, 60000)
            for kind, hosts in self.hosts.items()
            for host in hosts
            for epoch in range(len(self.epochs))
        }
        self.seen: set[str] = set()

    def pick(self, kind: str, at: float) -> str:
        if kind == "cli":  # every CLI invocation is a process of its own
            label = f"cli@ops-1:{self.rng.randint(1000, 60000)}"
        else:
            epoch = max(0, sum(1 for moment in self.epochs if moment <= at) - 1)
            host = self.rng.choice(self.hosts[kind])
            label = f"{kind}@{host}:{self.pids[(kind, host, epoch)]}"
        self.seen.add(label)
        return label


Row = tuple[float, str, str, str, str | None, str, uuid.UUID | None, str | None, str | None]


def _traceback(stage: str, reason: str) -> str:
    return (
        "Traceback (most recent call last):\n"
        '  File "/srv/agentos/agentos/services/pipeline/step_runner.py", line 97, in run\n'
        "    result = agent.run(context)\n"
        f'  File "/srv/agentos/agentos/agents/{stage}.py", line 64, in run\n'
        "    raise StageError(reason)\n"
        f"agentos.agents.errors.StageError: {reason}"
    )


def _job_episode(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    """One job: created on a server, each stage started and finished on a worker."""
    trace, job = uuid.uuid4().hex, uuid.uuid4()
    actor = rng.choice(USERS)
    title = f"{rng.choice(TITLES)} {rng.randint(1, 999)}"
    server = sources.pick("server", at)
    rows: list[Row] = [
        (
            at,
            "INFO",
            "agentos.services.jobs.commands",
            f"job created: {title!r}, first stage ingest",
            trace,
            server,
            job,
            actor,
            None,
        )
    ]
    now = at + rng.uniform(0.05, 2.0)
    worker = sources.pick("worker", now)
    fails_at = rng.choice(STAGES) if rng.random() < 0.06 else None
    for stage in STAGES:
        attempt = 1
        while True:
            slot = rng.randint(1, 4)
            rows.append(
                (
                    now,
                    "INFO",
                    "agentos.services.pipeline.step_runner",
                    f"{stage} started (attempt {attempt}) on {worker.split('@')[1]}/{stage}-{slot}",
                    trace,
                    worker,
                    job,
                    None,
                    None,
                )
            )
            took = rng.lognormvariate(1.2, 1.0)
            now += took
            if stage == fails_at and attempt <= 2:
                reason = rng.choice(STAGE_FAILURES)
                extra = json.dumps({"exc": _traceback(stage, reason), "attempt": attempt})
                rows.append(
                    (
                        now,
                        "ERROR",
                        "agentos.services.pipeline.step_runner",
                        f"step {stage} failed (attempt {attempt}): {reason}",
                        trace,
                        worker,
                        job,
                        None,
                        extra,
                    )
                )
                if attempt == 2 and rng.random() < 0.5:
                    return rows  # gave up: the job failed
                attempt += 1
                now += rng.uniform(5, 60)  # the retry's backoff
                continue
            rows.append(
                (
                    now,
                    "INFO",
                    "agentos.services.pipeline.step_runner",
                    f"{stage} finished in {took:.3f} s",
                    trace,
                    worker,
                    job,
                    None,
                    None,
                )
            )
            now += rng.uniform(0.01, 0.5)
            break
    return rows


def _request_failure(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    text, code = rng.choice(ERROR_CODES)
    message = f"request failed: {text.format(id=uuid.uuid4())} ({code})"
    server = sources.pick("server", at)
    return [
        (
            at,
            "WARNING",
            "agentos.server.errors",
            message,
            uuid.uuid4().hex,
            server,
            None,
            rng.choice(USERS),
            None,
        )
    ]


def _admin_action(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    action = rng.choice(("config.set", "job.retry", "agent.toggle", "logs.purge", "user.update"))
    kind = "cli" if rng.random() < 0.3 else "server"
    source = sources.pick(kind, at)
    trace = uuid.uuid4().hex
    if rng.random() < 0.8:
        message = f"admin action {action} failed: {rng.choice(ERROR_CODES)[0].format(id=trace)}"
        return [
            (at, "WARNING", "agentos.services.actions.pipeline", message, trace, source)
            + (None, rng.choice(USERS[-4:]), None)
        ]
    exc = _traceback("actions", "could not serialize access due to concurrent update")
    return [
        (at, "ERROR", "agentos.services.actions.pipeline", f"admin action {action} failed")
        + (trace, source, None, rng.choice(USERS[-4:]), json.dumps({"exc": exc}))
    ]


def _background(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    choice = rng.random()
    if choice < 0.4:
        source = sources.pick("beat", at)
        name = rng.choice(("dispatch-sweep", "purge-uploads", "rollup-compaction", "heartbeat"))
        level = "ERROR" if rng.random() < 0.3 else "WARNING"
        message = f"periodic task {name} failed: Timeout connecting to server"
        return [(at, level, "agentos.tasks.worker", message, None, source, None, None, None)]
    if choice < 0.7:
        source = sources.pick("worker", at)
        message = f"bus poll failed ({rng.randint(1, 5)} in a row): Connection refused"
        return [
            (at, "WARNING", "agentos.services.backends.embedded_bus", message, None, source)
            + (None, None, None)
        ]
    source = sources.pick("server", at)
    message = rng.choice(
        (
            "ssot: rebuild announcement failed: Redis is loading the dataset in memory",
            "shared rate limiter unavailable; limiting user:42 in this process",
            "ssot feed: subscription failed (Connection reset by peer); resubscribing",
        )
    )
    return [(at, "WARNING", "agentos.server.live", message, None, source, None, None, None)]


def _outage(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    """The job count cache down for a while: a burst of warnings from every server."""
    rows: list[Row] = []
    for _ in range(rng.randint(200, 600)):
        at += rng.expovariate(2.0)
        rows.append(
            (
                at,
                "WARNING",
                "agentos.services.jobs.counts",
                "job count cache unavailable: Timeout reading from socket",
                uuid.uuid4().hex,
                sources.pick("server", at),
                None,
                rng.choice(USERS),
                None,
            )
        )
    return rows


EPISODES: tuple[tuple[float, Callable[[random.Random, Sources, float], list[Row]]], ...] = (
    (0.62, _job_episode),
    (0.22, _request_failure),
    (0.06, _admin_action),
    (0.0995, _background),
    (0.0005, _outage),
)


def _diurnal(rng: random.Random, start: float, span: float) -> float:
    """A moment in [start, start + span), busier during the (UTC) working day."""
    while True:
        at = start + rng.random() * span
        hour = (at % 86400) / 3600
        if rng.random() < 0.35 + 0.65 * math.exp(-(((hour - 14) / 4.5) ** 2)):
            return at


def generate(records: int, days: int, seed: int) -> tuple[list[Row], Loaded]:
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=days)
    span = days * 86400.0
    sources = Sources(rng, start.timestamp(), days)
    weights = [weight for weight, _ in EPISODES]
    makers = [maker for _, maker in EPISODES]
    rows: list[Row] = []
    loaded = Loaded(start=start, end=end)
    while len(rows) < records:
        maker = rng.choices(makers, weights)[0]
        made = [row for row in maker(rng, sources, _diurnal(rng, start.timestamp(), span))]
        made = [row for row in made if row[0] < end.timestamp()]
        if not made:
            continue
        rows.extend(made)
        if maker is _job_episode:
            loaded.traces.append(made[0][4] or "")
            loaded.jobs.append(made[0][6])  # type: ignore[arg-type]
        elif made[0][4] is not None and rng.random() < 0.2:
            loaded.traces.append(made[0][4])
    del rows[records:]
    rows.sort(key=lambda row: row[0])
    loaded.sources = sorted(sources.seen)
    return rows, loaded


def _copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    return (
        text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _copy_lines(rows: list[Row]) -> Iterator[str]:
    for at, level, logger, message, trace, source, job, actor, extra in rows:
        created = datetime.fromtimestamp(at, UTC).isoformat()
        values = (uuid.uuid4(), created, level, logger, message, trace, source, job, actor, extra)
        yield "\t".join(_copy_field(value) for value in values) + "\n"


def load(libpq: str, rows: list[Row]) -> None:
    """COPY the rows in; the secondary indexes dropped first and rebuilt after."""
    with psycopg.connect(libpq, autocommit=True) as connection:
        indexes = connection.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = 'log_records' AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)"
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')  # type: ignore[arg-type]
        started = time.perf_counter()
        columns = "id, created_at, level, logger, message, trace_id, source, job_id, actor, extra"
        with connection.cursor() as cursor:
            copy_sql = f"COPY log_records ({columns}) FROM STDIN"
            with cursor.copy(copy_sql) as copy:  # type: ignore[arg-type]
                for offset in range(0, len(rows), COPY_CHUNK):
                    copy.write("".join(_copy_lines(rows[offset : offset + COPY_CHUNK])))
        copied = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            connection.execute(definition)  # type: ignore[arg-type]
        indexed = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute("VACUUM ANALYZE log_records")
        analyzed = time.perf_counter() - started
        size = connection.execute(
            "SELECT pg_size_pretty(pg_relation_size('log_records')), "
            "pg_size_pretty(pg_indexes_size('log_records'))"
        ).fetchone()
    names = ", ".join(sorted(name for name, _ in indexes))
    print(
        f"loaded {len(rows):,} rows: COPY {copied:.1f} s, {len(indexes)} indexes rebuilt in "
        f"{indexed:.1f} s ({names}), VACUUM ANALYZE {analyzed:.1f} s; "
        f"table {size[0] if size else '?'}, indexes {size[1] if size else '?'}"
    )


# --- searches --------------------------------------------------------------------------


def _window(rng: random.Random, loaded: Loaded) -> tuple[datetime, datetime]:
    hours = rng.choice((1, 6, 24))
    span = (loaded.end - loaded.start).total_seconds() - hours * 3600
    since = loaded.start + timedelta(seconds=rng.random() * span)
    return since, since + timedelta(hours=hours)


def _source(rng: random.Random, loaded: Loaded) -> str:
    choice = rng.random()
    if choice < 0.6:
        return rng.choice(("server", "worker", "beat", "cli"))
    if choice < 0.8:
        return rng.choice([label for label in loaded.sources if not label.startswith("cli")])
    return rng.choice(("server@api-1", "worker@worker-2"))


def payloads(rng: random.Random, loaded: Loaded, limit: int) -> dict[str, Callable[[], Any]]:
    """Each kind of search: a maker of its next payload."""

    def make(**values: Any) -> LogSearchPayload:
        return LogSearchPayload(limit=limit, **values)

    def recent() -> LogSearchPayload:
        return make(level=rng.choice((None, None, "WARNING", "ERROR", "CRITICAL")))

    def trace() -> LogSearchPayload:
        return make(trace_id=rng.choice(loaded.traces))

    def job() -> LogSearchPayload:
        return make(job_id=rng.choice(loaded.jobs))

    def level_source() -> LogSearchPayload:
        return make(level=rng.choice(("WARNING", "ERROR")), source=_source(rng, loaded))

    def text() -> LogSearchPayload:
        return make(query=rng.choice(QUERIES), level=rng.choice((None, None, "WARNING")))

    def text_window() -> LogSearchPayload:
        since, until = _window(rng, loaded)
        return make(query=rng.choice(QUERIES), since=since, until=until)

    def window() -> LogSearchPayload:
        since, until = _window(rng, loaded)
        choice = rng.random()
        if choice < 0.3:
            return make(since=since)
        if choice < 0.5:
            return make(until=until)
        return make(since=since, until=until, level=rng.choice((None, "WARNING", "ERROR")))

    return {
        "recent": recent,
        "trace": trace,
        "job": job,
        "level+source": level_source,
        "text": text,
        "text+window": text_window,
        "window": window,
    }


class Recorder:
    """The SQL each find() sends (the statement and its parameters)."""

    def __init__(self) -> None:
        self.last: tuple[str, Any] | None = None

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "log_records" in statement:
            self.last = (statement, parameters)


@dataclass
class Sample:
    ms: float
    payload: LogSearchPayload
    sql: tuple[str, Any] | None
    rows: int


def _timed(runtime: Runtime, recorder: Recorder, payload: LogSearchPayload) -> tuple[Sample, Any]:
    started = time.perf_counter()
    with runtime.session() as session:
        result = find(session, payload)
    ms = (time.perf_counter() - started) * 1000
    return Sample(ms, payload, recorder.last, len(result.records)), result


def run_searches(
    runtime: Runtime, loaded: Loaded, options: argparse.Namespace
) -> dict[str, list[Sample]]:
    rng = random.Random(options.seed + 1)
    makers = payloads(rng, loaded, options.limit)
    recorder = Recorder()
    event.listen(runtime.engine, "before_cursor_execute", recorder)
    samples: dict[str, list[Sample]] = defaultdict(list)
    try:
        for maker in makers.values():  # warm-up: connections, caches, the ORM's compiled SQL
            for _ in range(5):
                _timed(runtime, recorder, maker())
        schedule = [kind for kind in makers for _ in range(options.searches)]
        rng.shuffle(schedule)
        for number, kind in enumerate(schedule):
            payload = makers[kind]()
            sample, result = _timed(runtime, recorder, payload)
            samples[kind].append(sample)
            if result.next_cursor is None:
                continue
            payload = payload.model_copy(update={"before": result.next_cursor})
            sample, result = _timed(runtime, recorder, payload)
            samples["page 2"].append(sample)
            if number % 10 or not options.deep_pages:
                continue
            for _ in range(options.deep_pages - 2):  # every 10th: on to page N
                if result.next_cursor is None:
                    break
                payload = payload.model_copy(update={"before": result.next_cursor})
                sample, result = _timed(runtime, recorder, payload)
            else:
                samples[f"page {options.deep_pages}"].append(sample)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", recorder)
    return samples


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def report(samples: dict[str, list[Sample]], target_ms: float) -> list[str]:
    """Print the table; answer the kinds whose p99 misses the aim."""
    print(
        f"{'kind':<14}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'rows':>7}  vs aim"
    )
    missed = []
    every: list[float] = []
    for kind, found in samples.items():
        ordered = sorted(sample.ms for sample in found)
        every.extend(ordered)
        p99 = _percentile(ordered, 0.99)
        rows = statistics.mean(sample.rows for sample in found)
        verdict = f"x{p99 / target_ms:.2f}" + (" MISSES" if p99 >= target_ms else "")
        if p99 >= target_ms:
            missed.append(kind)
        print(
            f"{kind:<14}{len(ordered):>6}{statistics.median(ordered):>9.2f}"
            f"{_percentile(ordered, 0.95):>9.2f}{p99:>9.2f}{ordered[-1]:>9.2f}{rows:>7.0f}  "
            f"{verdict}"
        )
    every.sort()
    p99 = _percentile(every, 0.99)
    print(
        f"{'overall':<14}{len(every):>6}{statistics.median(every):>9.2f}"
        f"{_percentile(every, 0.95):>9.2f}{p99:>9.2f}{every[-1]:>9.2f}{'':>7}  "
        f"x{p99 / target_ms:.2f} of the {target_ms:.0f} ms aim"
        + (" MISSES" if p99 >= target_ms else " (met)")
    )
    return missed


def explain(runtime: Runtime, samples: dict[str, list[Sample]], kinds: list[str]) -> None:
    """EXPLAIN ANALYZE the slowest search of each kind that missed, as find sent it."""
    for kind in kinds:
        slowest = max(samples[kind], key=lambda sample: sample.ms)
        if slowest.sql is None:
            continue
        statement, parameters = slowest.sql
        shown = slowest.payload.model_dump(exclude_none=True, exclude_defaults=True, mode="json")
        print(f"\n--- {kind}: slowest {slowest.ms:.1f} ms, payload {json.dumps(shown)}")
        raw = runtime.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in cursor.fetchall():
                print(f"    {line}")
            raw.rollback()
        finally:
            raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="log records to load")
    parser.add_argument("--days", type=int, default=30, help="the records span this many days")
    parser.add_argument("--searches", type=int, default=100, help="timed searches per kind")
    parser.add_argument("--limit", type=int, default=100, help="page size (the action's default)")
    parser.add_argument("--deep-pages", type=int, default=10, help="every 10th: follow to page N")
    parser.add_argument("--target-ms", type=float, default=50.0, help="the p99 aim")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN ANALYZE")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("AGENTOS_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="an admin URL of the server; a scratch database is created on it",
    )
    options = parser.parse_args()

    name = f"agentos_bench_logs_{uuid.uuid4().hex[:10]}"
    database_url = make_url(options.postgres).set(database=name)
    admin = make_url(options.postgres).set(drivername="postgresql")
    libpq = database_url.set(drivername="postgresql").render_as_string(hide_password=False)
    home = Path(tempfile.mkdtemp(prefix="agentos-bench-logs-"))
    settings = Settings(
        home=home,
        database_url=database_url.render_as_string(hide_password=False),
        redis_url=None,
    )
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    runtime = Runtime(settings)
    try:
        ensure_schema(runtime.engine)
        started = time.perf_counter()
        rows, loaded = generate(options.records, options.days, options.seed)
        print(
            f"generated {len(rows):,} records in {time.perf_counter() - started:.1f} s: "
            f"{len(loaded.jobs):,} jobs, {len(loaded.traces):,} sampled trace ids, "
            f"{len(loaded.sources)} sources, {loaded.start:%Y-%m-%d} .. {loaded.end:%Y-%m-%d}"
        )
        load(libpq, rows)
        del rows
        started = time.perf_counter()
        samples = run_searches(runtime, loaded, options)
        print(
            f"searched in {time.perf_counter() - started:.1f} s (limit {options.limit}, "
            f"one unit of work each, result models built)"
        )
        missed = report(samples, options.target_ms)
        if missed and not options.no_explain:
            explain(runtime, samples, missed)
    finally:
        runtime.close()
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
