"""Fixtures for both deployments.

`settings` is parametrised over the embedded default (SQLite + in-process backends) and
the distributed one (PostgreSQL + Redis). Every test gets its own database (cloned from a
migrated template) and its own Redis key prefix, and both are removed afterwards.

Service-backed tests are skipped, with the reason, when PostgreSQL or Redis cannot be
reached, unless AGENTOS_REQUIRE_SERVICES=1 (CI), which turns that into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentos.services.runtime import Runtime
from agentos.settings import Settings, reset_settings_cache
from tests.support import services
from tests.support import slow_scenes as slow_scenes_module

REQUIRE_SERVICES = os.environ.get("AGENTOS_REQUIRE_SERVICES") == "1"
# pytest-xdist's workers inherit COLUMNS=80 from execnet; the CLI's console reads it once,
# at import, and would lay out "piped" output 80 columns wide in those workers only.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def _unavailable(what: str, reason: str) -> None:
    message = f"{what} not reachable ({reason}); set AGENTOS_TEST_{what.upper()}_URL"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} - AGENTOS_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="module")
def _no_event_loop_left_running() -> Iterator[None]:
    """A test module that leaves an event loop marked running in this thread would make
    every later async test in the process fail ("cannot be called from a running event
    loop"); pytest-xdist runs modules in any order, so this names the culprit."""
    yield
    leaked = asyncio._get_running_loop()
    if leaked is not None:
        asyncio.events._set_running_loop(None)
        pytest.fail(f"the module left an event loop running in its thread: {leaked!r}")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's AGENTOS_* variables or .env, or writes ./.agentos."""
    for name in list(os.environ):
        if name.startswith("AGENTOS_") and not name.startswith(
            ("AGENTOS_TEST_", "AGENTOS_REQUIRE")
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTOS_HOME", str(tmp_path / "default-home"))
    monkeypatch.chdir(tmp_path)
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = services.postgres_admin_url()
    reason = services.postgres_unreachable(url)
    if reason:
        _unavailable("postgres", reason)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = services.redis_url()
    reason = services.redis_unreachable(url)
    if reason:
        _unavailable("redis", reason)
    return url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    name = services.create_postgres_template(postgres_admin_url)
    yield name
    services.drop_postgres_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return services.create_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture
def postgres_url(postgres_admin_url: str, postgres_template: str) -> Iterator[str]:
    name = f"agentos_test_{uuid.uuid4().hex[:12]}"
    services.clone_postgres_database(postgres_admin_url, template=postgres_template, name=name)
    url = services.database_url(postgres_admin_url, name)
    yield url
    services.drop_postgres_database(postgres_admin_url, name)


def _embedded_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(sqlite_template, home / "agentos.db")
    return Settings(home=home)


@pytest.fixture(params=["embedded", "distributed"])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Settings]:
    """A migrated, empty deployment: embedded (SQLite) or distributed (PostgreSQL + Redis)."""
    if request.param == "embedded":
        result = _embedded_settings(tmp_path, sqlite_template)
    else:
        database = request.getfixturevalue("postgres_url")
        redis = request.getfixturevalue("redis_url")
        home = tmp_path / "home"
        home.mkdir()
        result = Settings(
            home=home,
            database_url=database,
            redis_url=redis,
            redis_key_prefix=f"agentos-test-{uuid.uuid4().hex[:10]}:",
        )
    yield result
    if result.redis_url:
        services.flush_redis_prefix(result)


@pytest.fixture
def make_runtime() -> Iterator[Callable[[Settings], Runtime]]:
    """Build more runtimes in a test (other settings, a second "process"); all closed after."""
    built: list[Runtime] = []

    def make(settings: Settings) -> Runtime:
        built.append(Runtime(settings))
        return built[-1]

    yield make
    for item in reversed(built):
        item.close()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """The test's runtime on `settings` (engines, backends, stores), closed afterwards."""
    built = Runtime(settings)
    yield built
    built.close()


@pytest.fixture
def slow_scenes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scene analysis in this process takes seconds per test video (tests/support/slow_scenes)."""
    from agentos.media import scenes

    monkeypatch.setattr(scenes, "frame_score", slow_scenes_module.slowed(scenes.frame_score))


@pytest.fixture
def embedded_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    return _embedded_settings(tmp_path, sqlite_template)


@pytest.fixture
def embedded_runtime(embedded_settings: Settings) -> Iterator[Runtime]:
    built = Runtime(embedded_settings)
    yield built
    built.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the distributed variants so `-m "not postgres"` deselects them."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("settings") == "distributed":
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.redis)
