"""Helpers for TUI tests: seeded deployments, bounded waits, reading widgets."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from agentos.schemas.actions_reads import AuditSearchPayload
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.common import PageParams
from agentos.schemas.jobs import JobFilters, JobStatus
from agentos.schemas.seed import SeedOptions, SeedResult
from agentos.services import jobs, seed
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.security import audit_read
from agentos.tui.app import AgentOSApp
from agentos.tui.widgets.table import KeyedTable

WAIT_S = 10.0


def seed_deployment(runtime: Runtime, *, jobs: int = 25, events: int = 40) -> SeedResult:
    result = seed.reset_and_seed(runtime, options=SeedOptions(jobs=jobs, events=events, seed=7))
    assert result.verified, result.problems
    return result


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, *, timeout: float = WAIT_S
) -> None:
    """Let the app run until `condition()` holds; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
        await asyncio.sleep(0)


def text_of(app: AgentOSApp, selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def table(app: AgentOSApp, selector: str) -> KeyedTable:
    return app.screen.query_one(selector, KeyedTable)


def column(app: AgentOSApp, selector: str, name: str) -> list[str]:
    found = table(app, selector)
    values = found.get_column(name)
    return [value.plain if isinstance(value, Text) else str(value) for value in values]


STAFF = Actor(name="tui-test", role="admin", source="cli")


def job_ids(runtime: Runtime, status: str) -> list[str]:
    with runtime.session() as session:
        page = jobs.find(
            session,
            actor=STAFF,
            filters=JobFilters(status=[JobStatus(status)]),
            page=PageParams(page=1, per_page=100),
        )
    return [str(job.id) for job in page.data]


def job_status(runtime: Runtime, job_id: str) -> str:
    with runtime.session() as session:
        return jobs.require(session, job_id=uuid.UUID(job_id), actor=STAFF).status.value


def audit_of(runtime: Runtime, action: str) -> list[AuditRecordRead]:
    with runtime.session() as session:
        found = audit_read.search(session, AuditSearchPayload(action=action, limit=200))
        return found.records


async def select_row(pilot: Pilot[None], app: AgentOSApp, selector: str, key: str) -> None:
    found = table(app, selector)
    found.focus()
    found.move_cursor(row=found.keys.index(key), animate=False)
    await pilot.pause()
