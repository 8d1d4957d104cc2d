"""The admin console in a real Chromium against a real `agentos serve` on seeded data, on
both deployments: the first login (one-time password, then a new one), the Dashboard's
counts against the SSOT document, every view (screenshots at 1280x800 and 390 px, the
accessibility check, no CSP refusal, nothing loaded from off this machine), a job
cancelled through the confirm dialog and a change made from the CLI, both seen live."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import (
    VIEWS,
    artifacts_dir,
    axe_violations,
    login,
    open_view,
    page_weight,
    save_json,
    wait_live,
    watch_page,
)
from tests.web.console_server import ConsoleServer

pytestmark = pytest.mark.slow
NEW_PASSWORD = "a-new-admin-password-4711"
STATUSES = ("pending", "queued", "processing", "completed", "failed", "cancelled")


def _first_login(page: Page, console: ConsoleServer) -> None:
    """The seeded admin logs in with the one-time password and must choose a new one."""
    login(page, console.url, "admin", console.admin_password)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    wait_live(page)


def _measured_login(page: Page, console: ConsoleServer) -> dict[str, Any]:
    """A fresh browser (nothing cached) opens /admin and logs in: the login page's first
    paint, the time from "Log in" to the Dashboard showing the live document, and every
    byte loaded until then."""
    page.goto(f"{console.url}/admin")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    started = time.perf_counter()
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".view[data-view=dashboard] [data-key=total_jobs]")).to_be_visible()
    rendered_ms = (time.perf_counter() - started) * 1000
    wait_live(page)
    page.wait_for_load_state("networkidle")
    return {"login_to_dashboard_rendered_ms": round(rendered_ms, 1), **page_weight(page)}


def _dashboard_counts(page: Page) -> dict[str, Any]:
    cards = page.locator(".view[data-view=dashboard]")
    counts = {
        status: int(cards.locator(f"[data-status={status}]").inner_text()) for status in STATUSES
    }
    counts["total_jobs"] = int(cards.locator("[data-key=total_jobs] .card-value").inner_text())
    counts["active_jobs"] = int(cards.locator("[data-key=active_jobs] .card-value").inner_text())
    return counts


def _ssot_counts(console: ConsoleServer, token: str) -> dict[str, Any]:
    dashboard = console.get("/api/admin/ssot", token)["data"]["dashboard"]
    return {
        **dashboard["jobs_by_status"],
        "total_jobs": dashboard["total_jobs"],
        "active_jobs": dashboard["active_jobs"],
    }


def _assert_counts_match(page: Page, console: ConsoleServer, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 3
    while True:  # a write elsewhere may land between the two reads: the page follows it live
        shown, document = _dashboard_counts(page), _ssot_counts(console, token)
        if shown == document or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shown == document
    return shown


def _tour(page: Page, shots: Any, width: int, problems: list[str]) -> dict[str, Any]:
    """Every view: a screenshot, the accessibility check; returns the violations found."""
    found: dict[str, Any] = {}
    for view in VIEWS:
        open_view(page, view)
        expect(page.locator("#main h1").first).to_be_visible()
        page.wait_for_timeout(300)  # reads started by the view settle
        page.screenshot(path=str(shots / f"{view}-{width}.png"), full_page=True)
        violations = axe_violations(page)
        if violations:
            found[view] = violations
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{view} at {width} px scrolls sideways by {overflow} px"
    assert not problems, problems
    return found


def _cancel_in_table(page: Page, job_id: str) -> float:
    """Cancels `job_id` from the Jobs table through the confirm dialog; the seconds until
    its row shows the new status (no reload)."""
    open_view(page, "jobs")
    page.get_by_label("Id starts with").fill(job_id[:8])
    page.get_by_role("button", name="Apply").click()
    row = page.locator(f"tr[data-key='{job_id}']")
    expect(row).to_be_visible()
    row.get_by_role("button", name="Cancel job").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading", name="Cancel this job?")).to_be_visible()
    dialog.get_by_label("Reason (optional, kept in the audit record)").fill("web console test")
    started = time.perf_counter()
    dialog.get_by_role("button", name="Cancel job").click()
    expect(row).to_have_attribute("data-status", "cancelled", timeout=1000)
    return time.perf_counter() - started


def _cli_change_seen(page: Page, console: ConsoleServer, job_id: str) -> float:
    """Cancels `job_id` with the CLI (a local action, not through this server); the seconds
    from the CLI's exit until the open Jobs table shows it."""
    open_view(page, "jobs")
    page.get_by_label("Id starts with").fill(job_id[:8])
    page.get_by_role("button", name="Apply").click()
    row = page.locator(f"tr[data-key='{job_id}']")
    expect(row).not_to_have_attribute("data-status", "cancelled")
    console.cli("action", "job.cancel", f"job_id={job_id}", "--yes", "--json")
    done = time.perf_counter()
    expect(row).to_have_attribute("data-status", "cancelled", timeout=1000)
    return time.perf_counter() - done


def _filter_to(page: Page, job_id: str) -> Any:
    open_view(page, "jobs")
    page.get_by_label("Id starts with").fill(job_id[:8])
    page.get_by_role("button", name="Apply").click()
    row = page.locator(f"tr[data-key='{job_id}']")
    expect(row).to_be_visible()
    return row


def _delete_with_dry_run(page: Page, console: ConsoleServer, token: str, job_id: str) -> None:
    """A dangerous action: its dry run is shown, a reason is required, then it runs."""
    row = _filter_to(page, job_id)
    row.get_by_role("button", name="Delete job").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_text("Dry run (nothing was changed):")).to_be_visible()
    expect(dialog.locator("pre")).to_contain_text(job_id)
    run = dialog.get_by_role("button", name="Run job.delete")
    run.click()
    expect(dialog).to_be_visible()  # no reason given: nothing sent
    assert console.get(f"/api/jobs/{job_id}", token)["data"]["id"] == job_id
    dialog.get_by_label("Reason (required, kept in the audit record)").fill("web console test")
    run.click()
    expect(row).to_have_count(0, timeout=3000)
    gone = console.action(token, "audit.search", {"action": "job.delete", "limit": 5})
    records = gone.json()["data"]["result"]["records"]
    assert [r["payload"]["reason"] for r in records if not r["payload"].get("dry_run")] == [
        "web console test"
    ]


def _double_click_runs_once(page: Page, console: ConsoleServer, token: str) -> None:
    open_view(page, "dashboard")
    page.locator("[data-action='dashboard.refresh']").first.dblclick()
    page.wait_for_timeout(1000)
    found = console.action(token, "audit.search", {"action": "dashboard.refresh", "limit": 5})
    assert len(found.json()["data"]["result"]["records"]) == 1


def _tab_to(page: Page, condition: str, limit: int = 150) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => Boolean({condition})"):
            return
    raise AssertionError(f"not reachable with Tab: {condition}")


def _keyboard_only(page: Page) -> None:
    """Views switch with Alt+number; buttons, dialogs and rows work with Tab, Enter, Escape."""
    page.keyboard.press("Alt+1")
    expect(page.locator(".view[data-view=dashboard] [data-key=total_jobs]")).to_be_visible()
    _tab_to(page, "document.activeElement?.dataset?.action === 'queue.pause'")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.wait_for_function("() => document.activeElement?.dataset?.action === 'queue.pause'")
    page.keyboard.press("Alt+2")
    expect(page.locator(".view[data-view=jobs] tbody tr[data-key]").first).to_be_visible()
    _tab_to(page, "document.activeElement?.dataset?.fk === 'open'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Processing steps")).to_be_visible()


def test_console_first_login_views_and_live_changes(
    page_factory: Any, console: ConsoleServer, deployment: str
) -> None:
    shots = artifacts_dir(deployment)
    page = page_factory()
    problems = watch_page(page)
    _first_login(page, console)
    token = console.token("admin", NEW_PASSWORD)
    counts = _assert_counts_match(page, console, token)
    page.screenshot(path=str(shots / "dashboard-first.png"), full_page=True)

    measured = page_factory()
    dashboard = _measured_login(measured, console)
    measured.screenshot(path=str(shots / "dashboard-measured.png"))
    violations = _tour(page, shots, 1280, problems)
    _keyboard_only(page)
    active = console.get("/api/jobs/history", token, status=["pending", "queued", "processing"])
    active_ids = [job["id"] for job in active["data"]]
    assert len(active_ids) >= 2, "the seed leaves jobs to cancel"
    web_s = _cancel_in_table(page, active_ids[0])
    cli_s = _cli_change_seen(page, console, active_ids[1])
    _delete_with_dry_run(page, console, token, active_ids[0])
    _double_click_runs_once(page, console, token)
    open_view(page, "dashboard")
    _assert_counts_match(page, console, token)

    audit = console.action(token, "audit.search", {"action": "job.cancel", "limit": 10})
    sources = {
        r["payload"].get("job_id"): r["source"] for r in audit.json()["data"]["result"]["records"]
    }
    assert sources[active_ids[0]] == "web"
    assert sources[active_ids[1]] == "cli"

    narrow = page_factory(width=390, height=844)
    narrow_problems = watch_page(narrow)
    login(narrow, console.url, "admin", NEW_PASSWORD)
    wait_live(narrow)
    violations.update(
        {f"{k}@390": v for k, v in _tour(narrow, shots, 390, narrow_problems).items()}
    )
    report = {"deployment": deployment, "dashboard": dashboard, "seed_counts": counts,
              "cancel_seen_after_s": round(web_s, 3), "cli_change_seen_after_s": round(cli_s, 3),
              "axe_serious_or_critical": violations}  # fmt: skip
    save_json(shots / "report.json", report)
    print(json.dumps(report, indent=2))
    assert not violations, violations
