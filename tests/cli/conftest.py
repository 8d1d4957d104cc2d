"""CLI tests run the real Typer app against the test's deployment through AGENTOS_* env."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings, reset_settings_cache
from tests.support.auth import TEST_PASSWORD, create_user_and_token
from tests.support.served import served


@pytest.fixture(autouse=True)
def session_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stored logins go to the test's own file, never the developer's."""
    path = tmp_path / "config" / "sessions.json"
    monkeypatch.setenv("AGENTOS_SESSION_FILE", str(path))
    return path


@pytest.fixture
def cli_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the CLI's environment at the test deployment."""
    monkeypatch.setenv("AGENTOS_HOME", str(settings.home_dir))
    if settings.database_url:
        monkeypatch.setenv("AGENTOS_DATABASE_URL", settings.database_url)
    if settings.redis_url:
        monkeypatch.setenv("AGENTOS_REDIS_URL", settings.redis_url)
        monkeypatch.setenv("AGENTOS_REDIS_KEY_PREFIX", settings.redis_key_prefix)
    reset_settings_cache()
    return settings


@pytest.fixture
def cli_runtime(cli_settings: Settings, runtime: Runtime) -> Runtime:
    """The test's own runtime on the CLI's deployment (the CLI builds its own)."""
    return runtime


@dataclass
class Remote:
    """A real server on a loopback port over the CLI's deployment, and an admin on it."""

    url: str
    runtime: Runtime
    admin: str
    admin_token: str
    password: str = TEST_PASSWORD

    def admin_options(self) -> list[str]:
        return ["--server", self.url, "--token", self.admin_token]


@pytest.fixture
def live_server(
    cli_settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> Iterator[Remote]:
    """The server's public tier (login, refresh) is raised so tests may log in often."""
    server_runtime = make_runtime(
        cli_settings.model_copy(update={"ratelimit_public_per_min": 10_000})
    )
    _, token = create_user_and_token(server_runtime, role="admin", username="root-admin")
    app = create_app(server_runtime, runner=lambda _runtime: None)
    with served(app) as url:
        yield Remote(url=url, runtime=server_runtime, admin="root-admin", admin_token=token)
