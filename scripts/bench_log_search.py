"""`logs.search` latency on PostgreSQL with a million stored log records, in one run.

    python scripts/bench_log_search.py [--records 1000000] [--searches 200] [--limit 100]

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
4. For every kind whose p99 misses the aim: its slowest searches, and EXPLAIN (ANALYZE,
   BUFFERS) of the slowest, the very SQL and parameters `find` sent (`--no-explain`).
5. If anything missed, the same searches again with the changes proposed for the misses
   (`--no-what-if` skips them), patched into this process and the scratch database only:
   (1) the keyset cursor as a row comparison, a whole process label compared with `=`,
   every search planned for its values (`plan_cache_mode = force_custom_plan`: psycopg
   prepares a statement run 5 times, and PostgreSQL's generic plan of it can use neither
   a partial index nor a LIKE prefix), and partial indexes of the WARNING-and-up records
   on `created_at` and on `(source, created_at)`; (2) that, and a text search without
   `since` limited to the 24 h before `until` (a change of what it finds).

Environment: AGENTOS_TEST_POSTGRES_URL as in the test suite (or --postgres).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, tuple_
from sqlalchemy.engine import make_url

from agentos.db.migrate import ensure_schema
from agentos.db.models import LogRecord
from agentos.errors import InvalidError
from agentos.schemas.actions_logs import LogSearchPayload
from agentos.services.logs import search
from agentos.services.runtime import Runtime
from agentos.settings import Settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
COPY_CHUNK = 50_000
SHOWN = 5  # the slowest searches listed per kind that misses
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
USERS = (*(f"user{n:03d}" for n in range(60)), "admin", "ops", "alice", "bob")
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
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    end: datetime = field(default_factory=lambda: datetime.now(UTC))


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


def _row(
    at: float,
    level: str,
    logger: str,
    message: str,
    *,
    source: str,
    trace: str | None = None,
    job: uuid.UUID | None = None,
    actor: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Row:
    """One record as the store handler writes it (created_at, level, ..., extra)."""
    text = json.dumps(extra) if extra else None
    return (at, level, logger, message, trace, source, job, actor, text)


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
    title = f"{rng.choice(TITLES)} {rng.randint(1, 999)}"
    rows = [
        _row(
            at,
            "INFO",
            "agentos.services.jobs.commands",
            f"job created: {title!r}, first stage ingest",
            source=sources.pick("server", at),
            trace=trace,
            job=job,
            actor=rng.choice(USERS),
        )
    ]
    now = at + rng.uniform(0.05, 2.0)
    worker = sources.pick("worker", now)
    runner = "agentos.services.pipeline.step_runner"
    fails_at = rng.choice(STAGES) if rng.random() < 0.06 else None
    for stage in STAGES:
        attempt = 1
        while True:
            where = f"{worker.split('@')[1]}/{stage}-{rng.randint(1, 4)}"
            message = f"{stage} started (attempt {attempt}) on {where}"
            rows.append(_row(now, "INFO", runner, message, source=worker, trace=trace, job=job))
            took = rng.lognormvariate(1.2, 1.0)
            now += took
            if stage == fails_at and attempt <= 2:
                reason = rng.choice(STAGE_FAILURES)
                message = f"step {stage} failed (attempt {attempt}): {reason}"
                extra = {"exc": _traceback(stage, reason), "attempt": attempt}
                rows.append(
                    _row(
                        now,
                        "ERROR",
                        runner,
                        message,
                        source=worker,
                        trace=trace,
                        job=job,
                        extra=extra,
                    )
                )
                if attempt == 2 and rng.random() < 0.5:
                    return rows  # gave up: the job failed
                attempt += 1
                now += rng.uniform(5, 60)  # the retry's backoff
                continue
            message = f"{stage} finished in {took:.3f} s"
            rows.append(_row(now, "INFO", runner, message, source=worker, trace=trace, job=job))
            now += rng.uniform(0.01, 0.5)
            break
    return rows


def _request_failure(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    text, code = rng.choice(ERROR_CODES)
    message = f"request failed: {text.format(id=uuid.uuid4())} ({code})"
    source = sources.pick("server", at)
    return [
        _row(
            at,
            "WARNING",
            "agentos.server.errors",
            message,
            source=source,
            trace=uuid.uuid4().hex,
            actor=rng.choice(USERS),
        )
    ]


def _admin_action(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    action = rng.choice(("config.set", "job.retry", "agent.toggle", "logs.purge", "user.update"))
    source = sources.pick("cli" if rng.random() < 0.3 else "server", at)
    trace, actor = uuid.uuid4().hex, rng.choice(USERS[-4:])
    logger = "agentos.services.actions.pipeline"
    if rng.random() < 0.8:
        message = f"admin action {action} failed: {rng.choice(ERROR_CODES)[0].format(id=trace)}"
        return [_row(at, "WARNING", logger, message, source=source, trace=trace, actor=actor)]
    exc = _traceback("actions", "could not serialize access due to concurrent update")
    message = f"admin action {action} failed"
    extra = {"exc": exc}
    return [
        _row(at, "ERROR", logger, message, source=source, trace=trace, actor=actor, extra=extra)
    ]


def _background(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    choice = rng.random()
    if choice < 0.4:
        name = rng.choice(("dispatch-sweep", "purge-uploads", "rollup-compaction", "heartbeat"))
        level = "ERROR" if rng.random() < 0.3 else "WARNING"
        message = f"periodic task {name} failed: Timeout connecting to server"
        return [_row(at, level, "agentos.tasks.worker", message, source=sources.pick("beat", at))]
    if choice < 0.7:
        message = f"bus poll failed ({rng.randint(1, 5)} in a row): Connection refused"
        logger = "agentos.services.backends.embedded_bus"
        return [_row(at, "WARNING", logger, message, source=sources.pick("worker", at))]
    message = rng.choice(
        (
            "ssot: rebuild announcement failed: Redis is loading the dataset in memory",
            "shared rate limiter unavailable; limiting user:42 in this process",
            "ssot feed: subscription failed (Connection reset by peer); resubscribing",
        )
    )
    return [_row(at, "WARNING", "agentos.server.live", message, source=sources.pick("server", at))]


def _outage(rng: random.Random, sources: Sources, at: float) -> list[Row]:
    """The job count cache down for a while: a burst of warnings from every server, after
    the one CRITICAL record of a worker that lost the database."""
    message = "database unreachable: connection to server at 10.0.0.5, port 5432 failed"
    source = sources.pick("worker", at)
    rows = [_row(at, "CRITICAL", "agentos.tasks.worker", message, source=source)]
    message = "job count cache unavailable: Timeout reading from socket"
    for _ in range(rng.randint(200, 600)):
        at += rng.expovariate(2.0)
        rows.append(
            _row(
                at,
                "WARNING",
                "agentos.services.jobs.counts",
                message,
                source=sources.pick("server", at),
                trace=uuid.uuid4().hex,
                actor=rng.choice(USERS),
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
        made = maker(rng, sources, _diurnal(rng, start.timestamp(), span))
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
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


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

    def source() -> LogSearchPayload:
        level = rng.choice((None, "WARNING", "WARNING", "ERROR"))
        return make(level=level, source=_source(rng, loaded))

    def text() -> LogSearchPayload:
        return make(query=rng.choice(QUERIES), level=rng.choice((None, None, "WARNING", "ERROR")))

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
        "source": source,
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
        result = search.find(session, payload)
    ms = (time.perf_counter() - started) * 1000
    return Sample(ms, payload, recorder.last, len(result.records)), result


def run_searches(
    runtime: Runtime,
    loaded: Loaded,
    options: argparse.Namespace,
    transform: Callable[[LogSearchPayload], LogSearchPayload] = lambda payload: payload,
) -> dict[str, list[Sample]]:
    """The mix, the same searches in the same order for a given seed."""
    rng = random.Random(options.seed + 1)
    made = payloads(rng, loaded, options.limit)
    makers = {kind: lambda maker=maker: transform(maker()) for kind, maker in made.items()}
    recorder = Recorder()
    event.listen(runtime.engine, "before_cursor_execute", recorder)
    samples: dict[str, list[Sample]] = {}
    for kind in makers:  # the order of the table
        samples[kind], samples[f"{kind} p2"] = [], []
    samples[f"page {options.deep_pages}"] = []
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
            samples[f"{kind} p2"].append(sample)
            if number % 10 or options.deep_pages <= 2:
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
        if not found:
            continue
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


def _shown(payload: LogSearchPayload) -> str:
    values = payload.model_dump(exclude_none=True, exclude_defaults=True, mode="json")
    if "before" in values:
        values["before"] = values["before"][:26] + "..."
    return json.dumps(values)


def _explain(runtime: Runtime, sql: tuple[str, Any]) -> list[str]:
    statement, parameters = sql
    raw = runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        lines = [str(line) for (line,) in cursor.fetchall()]
        raw.rollback()
        return lines
    finally:
        raw.close()


def _executed_ms(plan: list[str]) -> float:
    found = [line for line in plan if line.startswith("Execution Time:")]
    return float(found[0].split()[2]) if found else 0.0


def explain(runtime: Runtime, samples: dict[str, list[Sample]], kinds: list[str]) -> None:
    """For each kind that missed: its slowest searches, each run again under EXPLAIN
    ANALYZE as find() sent it (a slow time that does not come back was the machine, not
    the plan), and the plan of the one slowest again."""
    for kind in kinds:
        ranked = sorted(samples[kind], key=lambda sample: sample.ms, reverse=True)[:SHOWN]
        print(f"\n--- {kind}: the slowest searches (timed; executed again under EXPLAIN)")
        plans = []
        for sample in ranked:
            plan = _explain(runtime, sample.sql) if sample.sql is not None else []
            plans.append(plan)
            print(
                f"    {sample.ms:7.1f} ms; again {_executed_ms(plan):7.1f} ms  {sample.rows:>3} "
                f"rows  {_shown(sample.payload)}"
            )
        worst = max(plans, key=_executed_ms)
        print("    EXPLAIN (ANALYZE, BUFFERS) of the slowest again:")
        for line in worst:
            print(f"    {line}")


# --- what-if: the changes proposed for the misses, measured on the same data ----------

ALERT = "level IN ('WARNING', 'ERROR', 'CRITICAL')"
# The alert levels (WARNING and up: what a `level` filter asks for, ~8% of the rows) in
# their own time order, and per process. `level=ERROR` is served by them too (its IN list
# implies theirs); `level=CRITICAL` (`level = ...`) by ix_log_records_level_created_at.
WHAT_IF_INDEXES = (
    f"CREATE INDEX ix_log_records_alert_created_at ON log_records (created_at) WHERE {ALERT}",
    "CREATE INDEX ix_log_records_alert_source_created_at ON log_records (source, created_at) "
    f"WHERE {ALERT}",
)
TEXT_WINDOW = timedelta(hours=24)
# `kind@host:pid`, what `process_label` writes: one process.
LABEL = re.compile(r"[^@]+@[^:]+:\d+")


def _row_value_after(cursor: str) -> Any:
    """The proposed keyset: `(created_at, id) < (:at, :id)`, a row comparison PostgreSQL
    turns into an index bound (`created_at <= :at`), where today's OR form is only a
    filter (every page re-reads the rows of the pages before it)."""
    try:
        at_text, id_text = cursor.split("|", 1)
        at, record_id = datetime.fromisoformat(at_text), uuid.UUID(id_text)
    except ValueError:
        raise InvalidError("before: not a cursor", code="BAD_CURSOR") from None
    return tuple_(LogRecord.created_at, LogRecord.id) < tuple_(at, record_id)


def _exact_label_filters(original: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    """The proposed source filter: a whole process label is compared with `=`, which the
    `(source, created_at)` index answers in time order; a prefix (`worker`,
    `server@api-1`) stays a LIKE."""

    def filters(payload: Any) -> list[Any]:
        source = getattr(payload, "source", None)
        if not source or not LABEL.fullmatch(source):
            return original(payload)
        return [*original(payload.model_copy(update={"source": None})), LogRecord.source == source]

    return filters


def _custom_plans(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


def what_if(runtime: Runtime, libpq: str, loaded: Loaded, options: argparse.Namespace) -> None:
    """Re-run the same mix with the proposed changes: (1) the keyset as a row comparison,
    exact process labels and the alert-level index; (2) also text searches bounded to a
    window."""
    with psycopg.connect(libpq, autocommit=True) as connection:
        for statement in WHAT_IF_INDEXES:
            connection.execute(statement)  # type: ignore[arg-type]
        connection.execute("ANALYZE log_records")
    original = search._after, search._filters
    search._after = _row_value_after  # type: ignore[assignment]
    search._filters = _exact_label_filters(original[1])  # type: ignore[assignment]
    # psycopg prepares a statement run 5 times on a connection, and after 5 more runs
    # PostgreSQL may keep a generic plan: one that cannot use a partial index (the level
    # list is a parameter) nor a LIKE prefix. Each search planned for its own values:
    event.listen(runtime.engine, "connect", _custom_plans)
    runtime.engine.dispose()  # the pool's connections: made again, with it
    try:
        print(
            "\nwhat-if 1: the keyset as `(created_at, id) < (:at, :id)` (search._after); a "
            "whole process label\n  as `source = :label` (search._filters); plan_cache_mode "
            "= force_custom_plan; and\n  " + ";\n  ".join(WHAT_IF_INDEXES)
        )
        samples = run_searches(runtime, loaded, options)
        missed = report(samples, options.target_ms)
        if missed and not options.no_explain:
            explain(runtime, samples, missed)

        def windowed(payload: LogSearchPayload) -> LogSearchPayload:
            if not payload.query or payload.since is not None:
                return payload
            until = payload.until or loaded.end
            return payload.model_copy(update={"since": until - TEXT_WINDOW})

        hours = TEXT_WINDOW.total_seconds() / 3600
        print(
            f"\nwhat-if 2: what-if 1, and a text search without `since` looks at the last "
            f"{hours:.0f} h before `until` (or now) only (a change of what it finds)"
        )
        samples = run_searches(runtime, loaded, options, transform=windowed)
        missed = report(samples, options.target_ms)
        if missed and not options.no_explain:
            explain(runtime, samples, missed)
    finally:
        search._after, search._filters = original  # type: ignore[assignment]
        event.remove(runtime.engine, "connect", _custom_plans)
        runtime.engine.dispose()


def _context(libpq: str) -> None:
    with psycopg.connect(libpq) as connection:
        version, buffers, collation, table, indexes = (
            connection.execute(
                "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                "datcollate, pg_size_pretty(pg_table_size('log_records')), "
                "pg_size_pretty(pg_indexes_size('log_records')) "
                "FROM pg_database WHERE datname = current_database()"
            ).fetchone()
            or ("?",) * 5
        )
    print(
        f"PostgreSQL {version}, shared_buffers {buffers}, collation {collation}; "
        f"log_records {table} + indexes {indexes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="log records to load")
    parser.add_argument("--days", type=int, default=30, help="the records span this many days")
    parser.add_argument("--searches", type=int, default=200, help="timed searches per kind")
    parser.add_argument("--limit", type=int, default=100, help="page size (the action's default)")
    parser.add_argument("--deep-pages", type=int, default=10, help="every 10th: follow to page N")
    parser.add_argument("--target-ms", type=float, default=50.0, help="the p99 aim")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN ANALYZE")
    parser.add_argument(
        "--no-what-if", action="store_true", help="skip re-running with the proposed changes"
    )
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
        _context(libpq)
        print("\nas is (the migrations' indexes, search.find unchanged)")
        missed = report(samples, options.target_ms)
        if missed and not options.no_explain:
            explain(runtime, samples, missed)
        if missed and not options.no_what_if:
            what_if(runtime, libpq, loaded, options)
    finally:
        runtime.close()
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
