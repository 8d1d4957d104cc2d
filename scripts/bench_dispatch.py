"""Dispatch overhead: an empty six-stage job through our Celery runner vs a bare Celery chain.

Both run on the same broker, in the same worker process (threads pool), in one run:
- ours: `jobs.create` -> six `run_step` tasks, each claiming its step with a conditional
  UPDATE, heartbeating, recording the outcome and queueing the next stage (the stage
  bodies are replaced by no-ops, so only the runner's own cost is measured);
- baseline: a Celery chain of six no-op tasks, the last of which sets a Redis key.
Each side is timed from submission to completion, sequentially, N times; the figure is
the ratio of median seconds per job (baseline / ours; 1.0 = no overhead over Celery).

    python scripts/bench_dispatch.py [--jobs 30] [--database-url URL] [--redis-url URL]

Needs PostgreSQL and Redis (defaults: the local ones). A scratch database and a unique
Redis key prefix are created and removed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import redis
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DONE_KEY = "bench:chain:done:"


def _worker_main() -> None:
    """The worker process: our app with no-op stage bodies, plus the baseline task."""
    from agentos.services.stages import StageResult
    from agentos.services.stages_media import STAGES
    from agentos.settings import get_settings
    from agentos.tasks.app import app

    STAGES.update({name: (lambda _context: StageResult()) for name in STAGES})
    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url_for("cache"))

    @app.task(name="bench.noop", ignore_result=True)
    def noop(token: str, last: bool) -> None:
        if last:
            client.set(f"{settings.redis_key_prefix}{DONE_KEY}{token}", 1, ex=60)

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


def _wait(condition: Any, timeout_s: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("timed out: is the bench worker running?")
        time.sleep(0.001)


def _ours(settings: Any, jobs_count: int) -> list[float]:
    from agentos.db.models import Job
    from agentos.db.session import session_scope
    from agentos.services import jobs
    from agentos.services.context import SYSTEM_ACTOR

    timings = []
    for n in range(jobs_count):
        start = time.perf_counter()
        with session_scope(settings) as session:
            job_id = jobs.create(
                session, actor=SYSTEM_ACTOR, title=f"empty {n}", source_path=None
            ).id

        def done(job_id: uuid.UUID = job_id) -> bool:
            with session_scope(settings) as session:
                return session.get(Job, job_id).status == "completed"  # type: ignore[union-attr]

        _wait(done)
        timings.append(time.perf_counter() - start)
    return timings


def _baseline(settings: Any, jobs_count: int, stages: int) -> list[float]:
    from celery import chain

    from agentos.tasks.app import app_for

    app = app_for(settings)
    client = redis.Redis.from_url(settings.redis_url_for("cache"))
    timings = []
    for _ in range(jobs_count):
        token = uuid.uuid4().hex
        key = f"{settings.redis_key_prefix}{DONE_KEY}{token}"
        start = time.perf_counter()
        chain(
            *[
                app.signature(
                    "bench.noop", args=(token, i == stages - 1), queue="bench", immutable=True
                )
                for i in range(stages)
            ]
        ).apply_async()
        _wait(lambda key=key: client.exists(key) == 1)
        timings.append(time.perf_counter() - start)
    return timings


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
    from agentos.db.session import build_engine, dispose_engines
    from agentos.services.agent_defaults import PIPELINE, ensure_default_agents
    from agentos.services.backends.runner import install
    from agentos.settings import Settings
    from agentos.tasks.control import CeleryRunner

    name = f"agentos_bench_{uuid.uuid4().hex[:8]}"
    _admin(args.database_url, f'CREATE DATABASE "{name}"')
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    home = Path(f"/tmp/{name}")
    settings = Settings(
        home=home, database_url=url, redis_url=args.redis_url, redis_key_prefix=f"{name}:"
    )
    engine = build_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    env = {
        **os.environ,
        "AGENTOS_HOME": str(home),
        "AGENTOS_DATABASE_URL": url,
        "AGENTOS_REDIS_URL": args.redis_url,
        "AGENTOS_REDIS_KEY_PREFIX": settings.redis_key_prefix,
    }
    worker = subprocess.Popen([sys.executable, __file__, "--worker-process"], env=env)
    sender = CeleryRunner(settings)
    try:
        from agentos.db.session import session_scope

        with session_scope(settings) as session:
            ensure_default_agents(session)
        sender.start()
        _ours(settings, 3)  # warm both paths (connections, queues declared)
        _baseline(settings, 3, len(PIPELINE))
        ours = _ours(settings, args.jobs)
        base = _baseline(settings, args.jobs, len(PIPELINE))
    finally:
        sender.stop()
        install(None)
        worker.terminate()
        worker.wait(30)
        dispose_engines()
        _admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in ("cache", "broker"):
            client = redis.Redis.from_url(settings.redis_url_for(role))  # type: ignore[arg-type]
            for key in client.scan_iter(match=f"{settings.redis_key_prefix}*"):
                client.delete(key)
    ours_med, base_med = statistics.median(ours), statistics.median(base)
    print(
        f"empty 6-stage job, our Celery runner : median {ours_med * 1000:7.1f} ms "
        f"(p90 {sorted(ours)[int(len(ours) * 0.9) - 1] * 1000:.1f} ms)"
    )
    print(
        f"bare Celery chain of 6 no-op tasks  : median {base_med * 1000:7.1f} ms "
        f"(p90 {sorted(base)[int(len(base) * 0.9) - 1] * 1000:.1f} ms)"
    )
    print(f"ratio (baseline / ours, aim >= 0.8) : {base_med / ours_med:.2f}")


if __name__ == "__main__":
    if "--worker-process" in sys.argv:
        _worker_main()
    else:
        main()
