"""Benchmark `db reset-and-seed` on PostgreSQL against a plain COPY baseline.

For each size (default 10,000 / 100,000 / 1,000,000 jobs) the script creates a fresh
database, seeds it through the real service (reset via migrations, bulk COPY, index
rebuild, verification), and, in the same run, COPYs the same number of rows into a
trivial two-column table. It prints rows/s for both and their ratio, then drops the
databases it created.

    python scripts/bench_seed.py [--server postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                 [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from agentos.db.session import dispose_engines
from agentos.schemas.seed import SeedOptions
from agentos.services.backends import close_backends
from agentos.services.seed import reset_and_seed
from agentos.settings import Settings

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def admin(server: str, sql: str) -> None:
    with psycopg.connect(libpq(server), autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def seed_once(server: str, jobs: int) -> tuple[int, float, float]:
    """(rows, load seconds, total seconds) of one reset-and-seed into a fresh database."""
    name = f"agentos_bench_{uuid.uuid4().hex[:10]}"
    admin(server, f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home), database_url=with_database(server, name))
            result = reset_and_seed(settings, options=SeedOptions(jobs=jobs, events=100, seed=1))
            if result.problems:
                raise SystemExit(f"verification failed: {result.problems}")
            return result.total_rows, result.load_seconds, result.seconds
    finally:
        close_backends()
        dispose_engines()
        admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def baseline(server: str, rows: int) -> float:
    """Seconds to COPY `rows` rows of (bigint, text) into an empty table, Python-generated."""
    name = f"agentos_bench_{uuid.uuid4().hex[:10]}"
    admin(server, f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(libpq(with_database(server, name))) as connection:
            connection.execute("CREATE TABLE trivial (id bigint PRIMARY KEY, label text)")
            started = time.perf_counter()
            with connection.cursor().copy("COPY trivial FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "text"])
                for number in range(rows):
                    copy.write_row((number, "row"))
            connection.commit()
            return time.perf_counter() - started
    finally:
        admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL admin URL")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="job counts")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    header = (
        f"{'jobs':>9} {'rows':>10} {'seed s':>8} {'load s':>8} {'seed rows/s':>12} "
        f"{'COPY s':>8} {'COPY rows/s':>12} {'ratio':>6}"
    )
    print(header)
    for jobs in sizes:
        rows, load_s, total_s = seed_once(args.server, jobs)
        copy_s = baseline(args.server, rows)
        seed_rate, copy_rate = rows / total_s, rows / copy_s
        print(
            f"{jobs:>9,} {rows:>10,} {total_s:>8.2f} {load_s:>8.2f} {seed_rate:>12,.0f} "
            f"{copy_s:>8.2f} {copy_rate:>12,.0f} {seed_rate / copy_rate:>6.2f}",
            flush=True,
        )
    print("ratio = seed rows/s (whole reset-and-seed) / baseline COPY rows/s, same run")


if __name__ == "__main__":
    main()
