"""How long a TUI refresh takes on a large database (issue 7's closing figure).

A refresh is what the dashboard does on a live event: read the admin document (cache hit,
or a full collect on a miss) and the jobs view's current page (one page + COUNT). Deep
pages and a status filter are measured too. The baseline, measured in the same run, is a
primary-key lookup of one job: the cheapest round trip to the same database.

    AGENTOS_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agentos_tui_bench \
        python scripts/bench_tui_refresh.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import closing

from sqlalchemy import select

from agentos.client.local import LocalBackend
from agentos.db.models import Job
from agentos.schemas.jobs import JobStatus
from agentos.services import admin_data
from agentos.services.runtime import Runtime
from agentos.settings import get_settings


def measure(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run(runtime: Runtime, repeat: int) -> None:
    # The TUI's own backend, on the runtime the collect and the baseline use too.
    backend = LocalBackend(runtime, source="tui", owns_runtime=False)
    with runtime.session() as session:
        job_id = session.scalar(select(Job.id).limit(1))
    total = backend.list_jobs(per_page=1).pagination.total

    def baseline() -> None:
        with runtime.session() as session:
            session.get(Job, job_id)

    cases: dict[str, Callable[[], object]] = {
        "baseline: one job by primary key": baseline,
        "admin document, full collect (cache miss)": lambda: admin_data.collect(runtime),
        "admin document, cache hit": backend.snapshot,
        "jobs page 1 (100 rows + COUNT)": lambda: backend.list_jobs(per_page=100),
        "jobs page 1, status=failed": lambda: backend.list_jobs(
            status=[JobStatus.failed], per_page=100
        ),
        "jobs page 100 (offset 9,900)": lambda: backend.list_jobs(page=100, per_page=100),
        "jobs last page (offset ~total)": lambda: backend.list_jobs(
            page=max(1, total // 100), per_page=100
        ),
    }
    backend.snapshot()  # warm the cache once
    base = measure(baseline, repeat)
    database = runtime.settings.resolved_database_url.split("@")[-1]
    print(f"{total} jobs, {database}, median of {repeat}")
    for name, fn in cases.items():
        ms = measure(fn, repeat)
        print(f"{name:<45} {ms:9.1f} ms  {ms / base:8.1f}x baseline")
    refresh = measure(
        lambda: (admin_data.collect(runtime), backend.list_jobs(per_page=100)), repeat
    )
    print(f"{'refresh on a change (collect + jobs page 1)':<45} {refresh:9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with closing(Runtime(get_settings())) as runtime:
        run(runtime, args.repeat)


if __name__ == "__main__":
    main()
