"""Real `agentos worker` processes for the Celery tests: their environment, start and stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from agentos.settings import Settings

AGENTOS = str(Path(sys.executable).with_name("agentos"))
# Settings a worker process must share with the test (read from AGENTOS_* variables).
SHARED_FIELDS = (
    "database_url",
    "redis_url",
    "redis_key_prefix",
    "heartbeat_interval_s",
    "worker_lost_after_s",
    "cancel_check_interval_s",
    "celery_visibility_timeout_s",
    "celery_dispatch_sweep_s",
    "celery_send_grace_s",
)


def celery_settings(postgres_url: str, redis_url: str, home: Path, **overrides: object) -> Settings:
    """A distributed deployment of its own (database, Redis key prefix) under `home`."""
    home.mkdir(exist_ok=True)
    values: dict[str, object] = {
        "home": home,
        "database_url": postgres_url,
        "redis_url": redis_url,
        "redis_key_prefix": f"agentos-test-{uuid.uuid4().hex[:10]}:",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def worker_env(settings: Settings) -> dict[str, str]:
    """This process's environment without its AGENTOS_* variables, plus `settings`'."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
    env["AGENTOS_HOME"] = str(settings.home_dir)
    for field in SHARED_FIELDS:
        value = getattr(settings, field)
        env[f"AGENTOS_{field.upper()}"] = "" if value is None else str(value)
    return env


def start_worker(
    settings: Settings, args: list[str], *, log: Path, slow_scenes: bool = False
) -> subprocess.Popen[bytes]:
    """`agentos worker ARGS` in its own process group (the pool children die with it);
    `slow_scenes`: its scene analysis slowed (tests/support/slow_scenes.py)."""
    from tests.support import slow_scenes as slow_scenes_module

    env = worker_env(settings)
    program = slow_scenes_module.command(env) if slow_scenes else [AGENTOS]
    return subprocess.Popen(
        [*program, "worker", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """Warm stop (SIGTERM), then kill the group if it does not end within 20 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
