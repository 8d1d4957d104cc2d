"""Fixtures of the browser tests: one Chromium per test module, a seeded `agentos serve`
per test on the deployment of `settings` (embedded, distributed).

Without a browser (Debian's `chromium`, or Playwright itself) the tests are skipped with
the reason, unless AGENTOS_REQUIRE_SERVICES=1 (CI, whose .ci/run installs Chromium), which
turns that into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentos.settings import Settings
from tests.web.browser import chromium_path
from tests.web.console_server import ConsoleServer, serve

REQUIRE = os.environ.get("AGENTOS_REQUIRE_SERVICES") == "1"


def _no_browser(reason: str) -> None:
    message = f"no browser for the console tests: {reason}"
    if REQUIRE:
        pytest.fail(f"{message} - AGENTOS_REQUIRE_SERVICES=1 requires one", pytrace=False)
    pytest.skip(message)


# Per module, not per session: Playwright's sync API keeps an event loop marked running in
# this thread while it is open, which would break every async test run after it here.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _no_browser(f"playwright is not installed ({exc}); pip install -e '.[dev]'")
    executable = chromium_path()
    if executable is None:
        _no_browser("chromium is not on PATH (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console(settings: Settings, tmp_path: Path) -> Iterator[ConsoleServer]:
    # Every browser of a test logs in from 127.0.0.1: the public tier (10 logins a minute
    # per address) would refuse the later ones.
    with serve(settings, tmp_path / "serve.log", AGENTOS_RATELIMIT_PUBLIC_PER_MIN="600") as server:
        yield server


@pytest.fixture
def deployment(settings: Settings) -> str:
    return "embedded" if settings.is_embedded else "distributed"


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Any]:
    """New pages in fresh contexts (no shared cache or memory), closed after the test."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800, **options: Any) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
