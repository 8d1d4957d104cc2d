"""The header's session state: a refused login is shown loudly, in every view, until a
call succeeds again; the views keep what they last showed."""

from __future__ import annotations

import pytest

from agentos.errors import ForbiddenError, UnauthenticatedError
from agentos.tui.session import session_problem
from agentos.tui.widgets.header import HeaderState, render_header
from tests.tui.fake import FakeSource
from tests.tui.pilots import SIZE, fake_app
from tests.tui.support import table, text_of, wait_for

SERVER = "https://ops.example"


def test_session_problem_names_the_refusal_and_how_to_log_in() -> None:
    expired = UnauthenticatedError("session expired", code="SESSION_EXPIRED")
    assert session_problem(expired, SERVER) == (
        f"SESSION EXPIRED: run agentos login --server {SERVER}"
    )
    assert session_problem(expired, None) == "SESSION EXPIRED: log in again"
    disabled = UnauthenticatedError("user disabled", code="USER_DISABLED")
    assert session_problem(disabled, SERVER) == "ACCOUNT DISABLED: ask an admin to enable it"
    odd = UnauthenticatedError("no", code="WHATEVER")
    assert session_problem(odd, None) == "NOT AUTHENTICATED (WHATEVER): log in again"
    assert session_problem(ForbiddenError("admins only", code="FORBIDDEN"), SERVER) is None


def test_the_session_segment_replaces_the_plain_error() -> None:
    state = HeaderState(age_s=40.0, error="boom", session="TOKEN REVOKED: log in again")
    text = render_header(state).plain
    assert "TOKEN REVOKED: log in again" in text
    assert "the last received" in text
    assert "boom" not in text
    assert "boom" in render_header(HeaderState(error="boom")).plain


@pytest.mark.asyncio
async def test_a_refused_session_shows_in_the_header_until_a_call_succeeds() -> None:
    source = FakeSource()
    source.server = SERVER
    app = fake_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the document")
        source.fail["snapshot"] = UnauthenticatedError("expired", code="SESSION_EXPIRED")
        await wait_for(pilot, lambda: "SESSION EXPIRED" in text_of(app, "#status"), "header")
        assert f"run agentos login --server {SERVER}" in text_of(app, "#status")
        await pilot.press("2")  # every view's header says it; the jobs page still loads
        await wait_for(pilot, lambda: len(table(app, "#jobs").keys) == 12, "the jobs")
        await wait_for(pilot, lambda: "SESSION EXPIRED" in text_of(app, "#status"), "still")
        del source.fail["snapshot"]
        await wait_for(pilot, lambda: "SESSION" not in text_of(app, "#status"), "cleared")
