"""Fault tests: private services a test may kill, and a deployment built on them.

`private_redis` and `private_postgres` start servers of the test's own (tests/faults/
private.py); when the binaries are missing the test is skipped with the reason, unless
AGENTOS_REQUIRE_SERVICES=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.faults.private import PrivatePostgres, PrivateRedis, postgres_bin_dir, redis_binary
from tests.support import celery, services
from tests.support.auth import create_user_and_token
from tests.support.pipeline import wait_for

REQUIRE_SERVICES = os.environ.get("AGENTOS_REQUIRE_SERVICES") == "1"
# A deployment that reacts within the bounds these tests check.
FAST = {
    "heartbeat_interval_s": 0.5,
    "worker_lost_after_s": 3.0,
    "cancel_check_interval_s": 0.1,
    "celery_visibility_timeout_s": 5,
    "celery_dispatch_sweep_s": 0.5,
    "celery_send_grace_s": 2.0,
    "ssot_warm_interval_s": 1.0,
    # The load's callers run well inside every tier; the upload tier is the one a test
    # drives over its limit (to see that limits hold while Redis is down).
    "ratelimit_public_per_min": 100_000,
    "ratelimit_user_per_min": 100_000,
    "ratelimit_admin_read_per_min": 100_000,
    "ratelimit_admin_action_per_min": 100_000,
    "ratelimit_upload_per_min": 6,
    "ratelimit_burst_factor": 0.0,
    "action_rate_limits": {"standard": 100_000, "high_risk": 100_000, "critical": 100_000},
}


def _missing(what: str) -> None:
    message = f"{what} is not installed; the fault tests start a private one"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} - AGENTOS_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if redis_binary() is None:
        _missing("redis-server")
    directory = Path(tempfile.mkdtemp(prefix="agentos-redis-"))
    server = PrivateRedis(directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)  # its log, and nothing else of value


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        _missing("PostgreSQL (initdb, pg_ctl)")
    try:
        cluster = PrivatePostgres(bin_dir)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"initdb failed: {exc.stderr.decode(errors='replace')}", pytrace=False)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def fault_settings(database_url: str, redis_url: str, home: Path, **overrides: object) -> Settings:
    return celery.celery_settings(database_url, redis_url, home, **{**FAST, **overrides})


@pytest.fixture
def migrated_private_database(private_postgres: PrivatePostgres) -> str:
    name = f"agentos_fault_{uuid.uuid4().hex[:8]}"
    private_postgres.create_database(name)
    url = private_postgres.url(name)
    services._migrate(url)
    return url


@pytest.fixture
def make_runtime_for() -> Iterator[Callable[[Settings], Runtime]]:
    built: list[Runtime] = []

    def make(settings: Settings) -> Runtime:
        built.append(Runtime(settings))
        return built[-1]

    yield make
    for runtime in reversed(built):
        runtime.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `agentos worker` processes (stopped after the test, by their group)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        settings: Settings, runtime: Runtime, name: str, *, slow_scenes: bool = False
    ) -> subprocess.Popen[bytes]:
        process = celery.start_worker(
            settings,
            ["--concurrency", "1", "--name", f"{name}@localhost"],
            log=tmp_path / f"{name}.log",
            slow_scenes=slow_scenes,
        )
        started.append(process)
        wait_for(
            lambda: worker_online(runtime, f"{name}@localhost"),
            timeout_s=60,
            what=f"worker {name} to report in (log: {tmp_path / f'{name}.log'})",
        )
        return process

    yield start
    for process in started:
        celery.stop_worker(process)


def worker_online(runtime: Runtime, name: str) -> bool:
    from sqlalchemy import select

    from agentos.db.models import Worker

    with runtime.session() as session:
        status = session.scalar(select(Worker.status).where(Worker.name == name))
    return status == "online"


def tokens(runtime: Runtime) -> tuple[str, str]:
    """An admin's and a user's access token (users committed in `runtime`'s database)."""
    _, admin = create_user_and_token(runtime, role="admin")
    _, user = create_user_and_token(runtime, role="user")
    return admin, user
