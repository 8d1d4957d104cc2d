"""CLI tests run the real Typer app against the test's deployment through AGENTOS_* env."""

from __future__ import annotations

import pytest

from agentos.services.runtime import Runtime
from agentos.settings import Settings, reset_settings_cache


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
