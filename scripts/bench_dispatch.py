"""Dispatch overhead: an empty six-stage job through our Celery runner vs a bare Celery chain.

Both run on the same broker, in the same worker process (threads pool), in one run:
- ours: `jobs.create` -> six `run_step` tasks, each doing the runner's real bookkeeping:
  the step row claimed by a conditional UPDATE, its timing and outcome recorded, the job's
  status and progress moved on, the next stage's step queued and its message sent. Only the
  stage bodies are replaced by no-ops, so the runner's own cost is what is measured;
- baseline: a Celery chain of six no-op tasks (the same six hops through a queue).
Both sides learn that a job ended the same way, from the bus (Redis pub/sub): ours from the
`job.status completed` change announced after the last commit, the baseline from its last
task publishing on the same bus. Each side is timed from submission to that event,
one job at a time, N times, alternating between the two; the figure is the ratio of median
seconds per job (baseline / ours; 1.0 = no overhead over Celery).

Before the timed runs, one empty job goes through the same task code in this process with
every SQL statement (`before_cursor_execute`) and session commit counted per stage. The
embedded runner (SQLite, in-process pools) is measured the same way on a scratch home.

    python scripts/bench_dispatch.py [--jobs 30] [--database-url URL] [--redis-url URL]

Needs PostgreSQL and Redis (defaults: the local ones). A scratch database and a unique
Redis key prefix are created and removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from agentos.services.runtime import Runtime
    from agentos.settings import Settings

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DONE_CHANNEL = "bench.done"
CHANGES = "agentos.changes"


def _empty_stages() -> None:
    from agentos.services.pipeline.stage_functions import STAGES
    from agentos.services.pipeline.step_runner import StageResult

    STAGES.update({name: (lambda _context: StageResult()) for name in STAGES})


def _worker_main() -> None:
    """The worker process: our app with no-op stage bodies, plus the baseline task."""
    from agentos.tasks.app import app, process_runtime

    _empty_stages()
    bus = process_runtime().backends.bus

    @app.task(name="bench.noop", ignore_result=True)
    def noop(token: str, last: bool) -> None:
        if last:
            bus.publish(DONE_CHANNEL, {"token": token})

    queues = "ingest,probe,scenes,clipper,thumbs,publish,agentos.maintenance,bench"
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            "--concurrency=2",
            f"--queues={queues}",
            "--hostname=bench@localhost",
            "--loglevel=WARNING",
            "--without-mingle",
        ]
    )


def _admin(url: str, sql: str) -> None:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def _wait_event(subscription: Any, matches: Callable[[dict[str, Any]], bool]) -> None:
    deadline = time.perf_counter() + 30.0
    while time.perf_counter() < deadline:
        found = subscription.get(timeout_s=0.5)
        if found is not None and matches(found.payload):
            return
    raise SystemExit("timed out: is the bench worker running?")


def _create(runtime: Runtime, title: str) -> str:
    from agentos.services import jobs
    from agentos.services.context import SYSTEM_ACTOR

    with runtime.session() as session:
        return str(jobs.create(session, actor=SYSTEM_ACTOR, title=title, source_path=None).id)


def _completed(job_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda p: (
        p.get("kind") == "job.status"
        and p.get("job_id") == job_id
        and (p.get("status") == "completed")
    )


def _ours(runtime: Runtime, jobs_count: int, job_ids: list[str] | None = None) -> list[float]:
    subscription = runtime.backends.bus.subscribe(CHANGES)
    timings = []
    try:
        for n in range(jobs_count):
            start = time.perf_counter()
            job_id = _create(runtime, f"empty {n}")
            _wait_event(subscription, _completed(job_id))
            timings.append(time.perf_counter() - start)
            if job_ids is not None:
                job_ids.append(job_id)
    finally:
        subscription.close()
    return timings


def _timeline(runtime: Runtime, job_ids: list[str]) -> str:
    """Median ms from each job's creation to each step's start and end, from the rows."""
    from sqlalchemy import select

    from agentos.db.models import Job, ProcessingStep

    marks: dict[str, list[float]] = {}
    with runtime.session() as session:
        for job_id in job_ids:
            job = session.get(Job, uuid.UUID(job_id))
            assert job is not None
            assert job.finished_at is not None
            steps = session.scalars(
                select(ProcessingStep).where(ProcessingStep.job_id == job.id)
            ).all()
            for step in steps:
                for edge, at in (("start", step.started_at), ("end", step.finished_at)):
                    if at is not None:
                        ms = (at - job.created_at).total_seconds() * 1000
                        marks.setdefault(f"{step.agent} {edge}", []).append(ms)
            ms = (job.finished_at - job.created_at).total_seconds() * 1000
            marks.setdefault("job finished", []).append(ms)
    ordered = sorted(marks.items(), key=lambda item: statistics.median(item[1]))
    return ", ".join(f"{name} {statistics.median(values):.1f}" for name, values in ordered)


def _baseline(runtime: Runtime, jobs_count: int, stages: int) -> list[float]:
    from celery import chain

    from agentos.tasks.app import app_for

    app = app_for(runtime)
    subscription = runtime.backends.bus.subscribe(DONE_CHANNEL)
    timings = []
    try:
        for _ in range(jobs_count):
            token = uuid.uuid4().hex
            start = time.perf_counter()
            chain(
                *[
                    app.signature(
                        "bench.noop", args=(token, i == stages - 1), queue="bench", immutable=True
                    )
                    for i in range(stages)
                ]
            ).apply_async()
            _wait_event(subscription, lambda p, token=token: p.get("token") == token)
            timings.append(time.perf_counter() - start)
    finally:
        subscription.close()
    return timings


# Counting -------------------------------------------------------------------------------


class Tally:
    """SQL statements and session commits made in this process while `on`."""

    def __init__(self, runtime: Runtime) -> None:
        self.on = False
        self.statements = 0
        self.commits = 0
        self.lines: list[str] = []
        # The runner's relaxed sessions have an engine of their own on PostgreSQL.
        for engine in {runtime.engine, runtime.relaxed_engine}:
            event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(Session, "after_commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            self.statements += 1
            self.lines.append(" ".join(statement.split())[:90])

    def _commit(self, _session: Session) -> None:
        if self.on:
            self.commits += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.statements = self.commits = 0
        self.lines = []
        self.on = True
        try:
            yield
        finally:
            self.on = False


def _profile_celery_path(runtime: Runtime) -> list[tuple[str, int, int]]:
    """One empty job through the Celery task code in this process: per stage (agent,
    statements, commits). Messages are captured instead of sent."""
    import agentos.tasks.stages as task_module
    from agentos.tasks.dispatcher import CeleryDispatcher

    messages: list[tuple[str, str]] = []

    class Capture:
        def send_task(self, _name: str, args: list[str], kwargs: dict[str, str], **_: Any) -> None:
            messages.append((args[0], kwargs["agent"]))

    original_send = task_module.send_reserved
    task_module.send_reserved = lambda _app, _runtime, step, _task_id: messages.append(  # type: ignore[assignment]
        (str(step.step_id), step.agent)
    )
    dispatcher = CeleryDispatcher(runtime, Capture())  # type: ignore[arg-type]
    runtime.dispatch.register(dispatcher)
    tally = Tally(runtime)
    try:
        _create(runtime, "profiled")
        per_stage = []
        while messages:
            step_id, agent = messages.pop(0)
            with tally.counting():
                ran = task_module.run_step(step_id, agent=agent)
            # One message may run several stages (handed over, services/pipeline/handover.py).
            names = "+".join(item["agent"] for item in ran.get("stages", [])) or agent
            per_stage.append((names, tally.statements, tally.commits))
            if os.environ.get("BENCH_SHOW_SQL"):
                print(f"  {agent}:", *tally.lines, sep="\n    ")
        return per_stage
    finally:
        task_module.send_reserved = original_send  # type: ignore[assignment]
        runtime.dispatch.unregister(dispatcher)


def _print_profile(label: str, per_stage: list[tuple[str, int, int]]) -> None:
    statements = sum(s for _, s, _ in per_stage)
    commits = sum(c for _, _, c in per_stage)
    stages = sum(len(names.split("+")) for names, _, _ in per_stage) or 1
    detail = ", ".join(f"{agent} {s}/{c}" for agent, s, c in per_stage)
    print(
        f"{label}: {statements / stages:.1f} statements and {commits / stages:.1f} commits "
        f"per stage ({detail}; statements/commits per message)"
    )


# Embedded runner ------------------------------------------------------------------------


def _embedded(jobs_count: int) -> tuple[list[float], float, float]:
    """Median-able ms per empty job through the embedded runner (SQLite, in-process pools),
    and statements and commits per stage (everything this process did, claim loop included)."""
    from agentos.db.migrate import upgrade_to_head
    from agentos.services.pipeline.embedded_runner import EmbeddedRunner
    from agentos.services.runtime import Runtime
    from agentos.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="agentos_bench_embedded_"))
    runtime = Runtime(Settings(home=home))
    upgrade_to_head(runtime.engine)
    runner = EmbeddedRunner(runtime)
    runner.start()
    subscription = runtime.backends.bus.subscribe(CHANGES)
    tally = Tally(runtime)
    timings: list[float] = []
    try:
        for n in range(3):  # warm
            _wait_event(subscription, _completed(_create(runtime, f"warm {n}")))
        with tally.counting():
            _wait_event(subscription, _completed(_create(runtime, "profiled")))
            time.sleep(0.05)  # the last claim pass after completion
        for n in range(jobs_count):
            start = time.perf_counter()
            _wait_event(subscription, _completed(_create(runtime, f"empty {n}")))
            timings.append(time.perf_counter() - start)
    finally:
        subscription.close()
        runner.stop()
        runtime.close()
        shutil.rmtree(home, ignore_errors=True)  # the scratch home is this run's alone
    return timings, tally.statements / 6, tally.commits / 6


def _median_line(label: str, timings: list[float]) -> float:
    median = statistics.median(timings)
    p90 = sorted(timings)[max(0, int(len(timings) * 0.9) - 1)]
    print(f"{label}: median {median * 1000:7.1f} ms (p90 {p90 * 1000:.1f} ms)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument(
        "--database-url", default=os.environ.get("AGENTOS_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("AGENTOS_TEST_REDIS_URL", DEFAULT_REDIS)
    )
    args = parser.parse_args()

    from agentos.db.migrate import upgrade_to_head
    from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
    from agentos.tasks.app import process_runtime
    from agentos.tasks.control import CeleryRunner

    name = f"agentos_bench_{uuid.uuid4().hex[:8]}"
    _admin(args.database_url, f'CREATE DATABASE "{name}"')
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    home = Path(f"/tmp/{name}")
    env = {
        "AGENTOS_HOME": str(home),
        "AGENTOS_DATABASE_URL": url,
        "AGENTOS_REDIS_URL": args.redis_url,
        "AGENTOS_REDIS_KEY_PREFIX": f"{name}:",
    }
    # This process runs the task code too (the profile), on the process runtime built from
    # these settings; the bench uses that same runtime, so it counts the tasks' statements.
    os.environ.update(env)
    runtime = process_runtime()
    upgrade_to_head(runtime.engine)
    _empty_stages()
    worker: subprocess.Popen[bytes] | None = None
    sender = None
    try:
        with runtime.session() as session:
            ensure_default_agents(session)
        _profile_celery_path(runtime)  # warm
        celery_profile = _profile_celery_path(runtime)
        worker = subprocess.Popen(
            [sys.executable, __file__, "--worker-process"], env={**os.environ, **env}
        )
        sender = CeleryRunner(runtime)
        sender.start()
        _ours(runtime, 3)  # warm both paths (connections, queues declared)
        _baseline(runtime, 3, len(PIPELINE))
        ours: list[float] = []
        base: list[float] = []
        job_ids: list[str] = []
        for _ in range(args.jobs):  # interleaved, so a drift in machine speed hits both
            ours += _ours(runtime, 1, job_ids)
            base += _baseline(runtime, 1, len(PIPELINE))
        timeline = _timeline(runtime, job_ids)
    finally:
        if sender is not None:
            sender.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        runtime.close()
        _flush_prefix(runtime.settings)
        _admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for key in env:
            os.environ.pop(key, None)
    embedded, embedded_statements, embedded_commits = _embedded(args.jobs)

    print(f"command: {' '.join(sys.argv)}")
    _print_profile("our Celery task path, per empty stage", celery_profile)
    ours_med = _median_line("empty 6-stage job, our Celery runner ", ours)
    base_med = _median_line("bare Celery chain of 6 no-op tasks   ", base)
    print(f"ratio (baseline / ours, aim >= 0.8)  : {base_med / ours_med:.2f}")
    print(f"our job's timeline, ms from creation : {timeline}")
    _median_line("empty 6-stage job, embedded runner   ", embedded)
    print(
        f"embedded runner (SQLite), per stage  : {embedded_statements:.1f} statements, "
        f"{embedded_commits:.1f} session commits (claim loop and bus rows included)"
    )


def _flush_prefix(settings: Settings) -> None:
    import redis

    for role in ("cache", "broker"):
        client = redis.Redis.from_url(settings.redis_url_for(role))
        for key in client.scan_iter(match=f"{settings.redis_key_prefix}*"):
            client.delete(key)


if __name__ == "__main__":
    if "--worker-process" in sys.argv:
        _worker_main()
    else:
        main()
