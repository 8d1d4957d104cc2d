"""Who sees what in the console: a readonly viewer gets no action button and a forged
action is refused; a session that ends asks to log in again; the token is refreshed before
it expires; a job's page shows its steps, clips (thumbnail, playable), events and logs."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import VIEWS, artifacts_dir, login, open_view, wait_live, watch_page
from tests.web.console_server import OPERATOR_ADMIN, VIEWER, ConsoleServer

pytestmark = pytest.mark.slow


def _no_action_buttons(page: Page) -> None:
    for view in VIEWS:
        open_view(page, view)
        page.wait_for_timeout(200)
        assert page.locator("[data-action]").count() == 0, f"{view} shows an action button"
        assert (
            page.get_by_role("button", name=re.compile("^(Cancel|Retry|Delete|Stop|Start)")).count()
            == 0
        )


def test_a_readonly_viewer_cannot_act_and_an_ended_session_asks_to_log_in(
    page_factory: Any, console: ConsoleServer, deployment: str
) -> None:
    page = page_factory()
    problems = watch_page(page)
    login(page, console.url, *VIEWER)
    wait_live(page)
    _no_action_buttons(page)
    page.screenshot(path=str(artifacts_dir(deployment) / "readonly-analytics.png"), full_page=True)

    token = console.token(*VIEWER)
    jobs = console.get("/api/jobs/history", token, status=["pending", "queued"])["data"]
    forged = httpx.post(
        f"{console.url}/api/admin/action",
        json={"action": "job.cancel", "payload": {"job_id": jobs[0]["id"]}},
        headers={"Authorization": f"Bearer {token}", "X-AgentOS-Source": "web",
                 "Idempotency-Key": "forged-1"},
    )  # fmt: skip
    assert forged.status_code == 403, forged.text
    assert forged.json()["error_code"] == "PERMISSION_DENIED"

    # The viewer's sessions are revoked from the CLI: the next call asks to log in again.
    console.cli("action", "user.tokens.revoke", f"user_id={console.users['viewer']}", "--yes")
    page.evaluate(
        "() => { location.hash = '#/jobs'; }"
    )  # the next call, if the socket's close was not first
    expect(page.get_by_role("heading", name="Log in to AgentOS")).to_be_visible(timeout=5000)
    expect(page.get_by_text("Your session has expired. Log in again to continue.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("viewer")
    expect(page.locator("#views")).to_be_hidden()
    page.screenshot(path=str(artifacts_dir(deployment) / "session-expired.png"))
    page.get_by_label("Password", exact=True).fill(VIEWER[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".view[data-view=jobs] tbody tr").first).to_be_visible()
    # 401 after the revocation and 403 for the views a viewer may not read are expected.
    assert not [p for p in problems if "Failed to load resource" not in p], problems


def _job_with_clip_files(console: ConsoleServer, token: str) -> dict[str, Any]:
    for job in console.get("/api/jobs/history", token, per_page=100)["data"]:
        detail = console.get(f"/api/jobs/{job['id']}", token)["data"]
        if any(_has_files(clip) for clip in detail["clips"]):
            return dict(detail)
    raise AssertionError("the seed made no job whose clips have files")


def _has_files(clip: dict[str, Any]) -> bool:
    """The seed's demo clips are real files; its other rows only name some."""
    paths = (clip["path"], clip["thumbnail_path"])
    return all(path and Path(path).is_file() for path in paths)


def test_a_job_page_shows_steps_clips_events_and_logs_and_the_token_is_refreshed(
    page_factory: Any, console: ConsoleServer, deployment: str
) -> None:
    token = console.token(*OPERATOR_ADMIN)
    job = _job_with_clip_files(console, token)
    clip = next(c for c in job["clips"] if _has_files(c))
    auth = {"Authorization": f"Bearer {token}"}
    thumb = httpx.get(f"{console.url}/admin/clips/{clip['id']}/thumbnail", headers=auth)
    assert thumb.status_code == 200, (thumb.text, clip)
    assert thumb.headers["content-type"] == "image/jpeg"
    assert httpx.get(f"{console.url}/admin/clips/{clip['id']}/video").status_code == 401
    missing = httpx.get(f"{console.url}/admin/clips/{uuid.uuid4()}/video", headers=auth)
    assert missing.json()["error_code"] == "CLIP_NOT_FOUND"

    page = page_factory()
    page.clock.install()
    problems = watch_page(page)
    login(page, console.url, *OPERATOR_ADMIN)
    wait_live(page)
    page.goto(f"{console.url}/admin#/jobs/{job['id']}")
    expect(page.get_by_role("heading", name=job["title"])).to_be_visible()
    steps = page.get_by_role("region", name="Steps in pipeline order")
    expect(steps.locator("tbody tr")).to_have_count(len(job["steps"]))
    thumbnail = page.locator(f"figure[data-clip='{clip['id']}'] img")
    expect(thumbnail).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    assert thumbnail.get_attribute("src", timeout=1000).startswith("blob:")
    page.get_by_role("button", name=re.compile(f"^Play Clip {clip['ordinal'] + 1}:")).click()
    video = page.locator(f"figure[data-clip='{clip['id']}'] video")
    expect(video).to_be_visible()
    page.wait_for_function("(v) => v.readyState >= 1 && v.duration > 0", arg=video.element_handle())
    expect(page.get_by_role("region", name="Events of this job")).to_be_visible()
    expect(page.get_by_role("region", name="Log lines of this job")).to_be_visible()
    page.screenshot(path=str(artifacts_dir(deployment) / "job-detail.png"), full_page=True)

    # 15-minute access tokens are refreshed after three quarters of their life.
    with page.expect_request(lambda r: r.url.endswith("/api/auth/refresh"), timeout=10_000):
        page.clock.fast_forward("12:00")
    open_view(page, "jobs")
    expect(page.locator(".view[data-view=jobs] tbody tr").first).to_be_visible()
    assert not problems, problems
