"""`/docs` and `/redoc` render with no network: every file from this server, under the
pages' Content-Security-Policy (a refusal would show as a console error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.served import served
from tests.web.browser import artifacts_dir, watch_page

pytestmark = pytest.mark.slow


@pytest.fixture
def docs_server(tmp_path: Path) -> Iterator[str]:
    """The docs pages are static files: the embedded deployment is enough."""
    runtime = Runtime(Settings(home=tmp_path / "home"))
    try:
        with served(create_app(runtime)) as url:
            yield url
    finally:
        runtime.close()


def _offline(page: Any) -> list[str]:
    """Requests off this machine are aborted (as on an air-gapped network) and recorded."""
    blocked: list[str] = []

    def guard(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return blocked


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "[role=navigation], .api-content h1")],
)
def test_docs_pages_render_offline(
    browser: Any, docs_server: str, path: str, rendered: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        blocked = _offline(page)
        problems = watch_page(page)
        page.goto(f"{docs_server}{path}")
        expect(page.locator(rendered).first).to_be_visible(timeout=20_000)
        expect(page.get_by_text("AgentOS").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(artifacts_dir("docs") / f"{path.strip('/')}.png"))
        assert not blocked, blocked
        assert not [p for p in problems if "off this machine" not in p], problems
    finally:
        context.close()
