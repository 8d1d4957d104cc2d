"""The browser side of the console tests: Debian's Chromium through Playwright, logging
in, the accessibility check (axe-core, from the axe-playwright-python package), and the
page-weight and first-render measurements."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parents[2]
VIEWS = ("dashboard", "jobs", "system", "agents", "managers", "logs", "config", "analytics")
# Impacts that fail the accessibility check (axe also reports "moderate" and "minor").
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def artifacts_dir(*parts: str) -> Path:
    """Screenshots and measurements: $AGENTOS_TEST_ARTIFACTS, else tmp/artifacts/web."""
    root = Path(os.environ.get("AGENTOS_TEST_ARTIFACTS", REPO / "tmp" / "artifacts"))
    path = root.joinpath("web", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def watch_page(page: Page) -> list[str]:
    """Collects what would show in the browser console as a problem (CSP refusals included)
    and every request that left this machine."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )

    def offsite(request: Any) -> None:
        if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "blob:", "data:")):
            problems.append(f"request off this machine: {request.url}")

    page.on("request", offsite)
    return problems


def login(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/admin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def wait_live(page: Page) -> None:
    expect(page.locator("#status .conn")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator(".view[data-view=dashboard] [data-key=total_jobs]")).to_be_visible()


def open_view(page: Page, view: str) -> None:
    page.locator(f"#views a[data-view={view}]").click()
    expect(page.locator(f".view[data-view={view}]")).to_be_visible()
    page.wait_for_load_state("networkidle")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious or critical axe-core violations on the page as it is now. The script is
    evaluated through the DevTools protocol, so the page's CSP (no inline script) holds."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations'], "
        "runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"]),
         "first": v["nodes"][0]["target"] if v["nodes"] else None}
        for v in result["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]  # fmt: skip


def page_weight(page: Page) -> dict[str, Any]:
    """What the browser loaded for the page so far (Resource Timing): requests and bytes,
    over the wire (transfer) and decoded, plus the first contentful paint."""
    return dict(
        page.evaluate(
            """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const res = performance.getEntriesByType('resource');
            const all = [nav, ...res];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            const mark = (name) => performance.getEntriesByName(name)[0]?.startTime;
            const loggedIn = mark('agentos:logged-in'), rendered = mark('agentos:dashboard-rendered');
            return {
              requests: all.length,
              transfer_bytes: all.reduce((n, e) => n + (e.transferSize || 0), 0),
              decoded_bytes: all.reduce((n, e) => n + (e.decodedBodySize || 0), 0),
              first_contentful_paint_ms: fcp ? Math.round(fcp.startTime) : null,
              dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
              logged_in_to_dashboard_rendered_ms: loggedIn && rendered ? Math.round(rendered - loggedIn) : null,
              resources: res.map((e) => [e.name.replace(location.origin, ''), e.initiatorType, e.transferSize, e.decodedBodySize]),
              by_type: res.reduce((m, e) => { m[e.initiatorType] = (m[e.initiatorType] || 0) + (e.decodedBodySize || 0); return m; }, {}),
            };
        }"""
        )
    )


def save_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True))
