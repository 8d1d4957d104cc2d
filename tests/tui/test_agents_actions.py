"""Agents & Workers view: the agent keys run the catalog's agent actions (embedded, local)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agentos.db.models import Agent
from agentos.schemas.seed import SeedResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.app import AgentOSApp
from agentos.tui.source import LocalSource
from tests.tui.support import audit_of, column, select_row, table, wait_for

pytestmark = pytest.mark.asyncio
SIZE = (180, 50)


def _enabled(runtime: Runtime, name: str) -> bool:
    with runtime.session() as session:
        enabled = session.scalar(select(Agent.enabled).where(Agent.name == name))
    assert enabled is not None
    return enabled


async def test_stop_an_agent_from_the_agents_view(
    embedded_settings: Settings, embedded_runtime: Runtime, seeded_embedded: SeedResult
) -> None:
    app = AgentOSApp(LocalSource(embedded_settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("agent.stop"), "the catalog")
        await pilot.press("3")
        await wait_for(pilot, lambda: len(table(app, "#agents").keys) == 6, "six agents")
        shown = {b.binding.description for b in app.active_bindings.values() if b.enabled}
        assert {"Start agent", "Stop agent", "Concurrency"} <= shown

        await select_row(pilot, app, "#agents", "probe")
        await pilot.press("T")
        await wait_for(pilot, lambda: not _enabled(embedded_runtime, "probe"), "the stop")
        [record] = audit_of(embedded_runtime, "agent.stop")
        assert (record.outcome, record.source, record.payload) == (
            "success",
            "tui",
            {"agent_id": "probe", "reason": None},
        )
        assert _enabled(embedded_runtime, "scenes")  # only the selected agent

        row = table(app, "#agents").keys.index("probe")
        await wait_for(
            pilot, lambda: column(app, "#agents", "enabled")[row] == "no", "the view to show it"
        )
        await pilot.press("S")
        await wait_for(pilot, lambda: _enabled(embedded_runtime, "probe"), "the start")
        assert [r.outcome for r in audit_of(embedded_runtime, "agent.start")] == ["success"]
