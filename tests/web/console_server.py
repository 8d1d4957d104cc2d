"""A seeded deployment behind a real `agentos serve` process, for the browser tests.

The deployment is the one `settings` gives (embedded SQLite, or PostgreSQL + a Redis key
prefix). It is seeded with `agentos db reset-and-seed` (the admin gets a one-time
password), a readonly viewer and a second admin are added with `agentos users create
--password-stdin`, and the server runs with its in-process workers off so the seeded
jobs keep their status while a test looks at them. The CLI runs against the same
deployment, as an operator's shell would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agentos.settings import Settings
from tests.support.served import free_port

STARTUP_BUDGET_S = 40.0
VIEWER = ("viewer", "viewer-password-4711")
OPERATOR_ADMIN = ("ops", "ops-admin-password-4711")
SEED_JOBS = 25
SEED_EVENTS = 60


def _script() -> str:
    return str(Path(sys.executable).with_name("agentos"))


def deployment_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTOS_")}
    env["AGENTOS_HOME"] = str(settings.home_dir)
    env["AGENTOS_EMBEDDED_WORKERS"] = "false"
    if settings.database_url:
        env["AGENTOS_DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["AGENTOS_REDIS_URL"] = settings.redis_url
        env["AGENTOS_REDIS_KEY_PREFIX"] = settings.redis_key_prefix
    env.update(extra)
    return env


@dataclass
class ConsoleServer:
    url: str
    env: dict[str, str]
    seed: dict[str, Any]
    users: dict[str, str] = field(default_factory=dict)  # name -> id
    log: Path | None = None

    @property
    def admin_password(self) -> str:
        return str(self.seed["admin_password"])

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> str:
        """Run `agentos ARGS` on this deployment; its stdout (fails the test on an error)."""
        done = subprocess.run(
            [_script(), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"agentos {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def token(self, username: str, password: str) -> str:
        answer = httpx.post(
            f"{self.url}/api/auth/login", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["data"]["access_token"])

    def get(self, path: str, token: str, **params: Any) -> Any:
        answer = httpx.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def action(self, token: str, name: str, payload: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/admin/action",
            json={"action": name, "payload": payload},
            headers={"Authorization": f"Bearer {token}"},
        )


def _wait_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_BUDGET_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(
        f"server at {url} did not start:\n{log.read_text(errors='replace')[-3000:]}"
    )


def prepare(settings: Settings) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """Seed the deployment and add the test users; (env, seed report, user ids)."""
    settings.signing_key()  # the key file exists before any process reads it
    env = deployment_env(settings)
    probe = ConsoleServer(url="", env=env, seed={})
    seed = json.loads(
        probe.cli(
            "db", "reset-and-seed", "--yes", "--json", "--seed", "7",
            "--jobs", str(SEED_JOBS), "--events", str(SEED_EVENTS),
        )
    )  # fmt: skip
    users: dict[str, str] = {}
    for (name, password), role in ((VIEWER, "readonly"), (OPERATOR_ADMIN, "admin")):
        created = probe.cli(
            "users", "create", name, "--role", role, "--password-stdin", "--json", stdin=password
        )
        users[name] = str(json.loads(created)["user"]["id"])
    return env, seed, users


@contextmanager
def serve(settings: Settings, log: Path, **extra: str) -> Iterator[ConsoleServer]:
    """A seeded deployment and `agentos serve` on it, stopped (by its own pid) afterwards."""
    env, seed, users = prepare(settings)
    env.update(extra)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [_script(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=settings.home_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_up(process, url, log)
            yield ConsoleServer(url=url, env=env, seed=seed, users=users, log=log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
