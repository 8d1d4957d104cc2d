"""The System view on a real deployment (both kinds): a backup taken with `b` is a real,
catalogued, audited backup file."""

from __future__ import annotations

import hashlib

import pytest
from textual.widgets import Input

from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.app import AgentOSApp
from agentos.tui.screens.modals import ActionFormScreen
from agentos.tui.screens.system import SystemScreen
from agentos.tui.source import LocalSource
from tests.tui.support import audit_of, column, table, text_of, wait_for

pytestmark = pytest.mark.asyncio
SIZE = (180, 50)
LABEL = "from-the-tui"


async def test_a_backup_taken_from_the_system_view_is_a_real_file(
    settings: Settings, runtime: Runtime
) -> None:
    app = AgentOSApp(LocalSource(settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_action("system.backup"), "the catalog")
        await pilot.press("7")
        await wait_for(pilot, lambda: isinstance(app.screen, SystemScreen), "the System view")
        await wait_for(pilot, lambda: "no backups yet" in text_of(app, "#backups-note"), "list")
        await wait_for(pilot, lambda: "free disk" in text_of(app, "#storage-note"), "storage")
        await wait_for(pilot, lambda: len(table(app, "#breakers").keys) > 0, "the breakers")
        assert "Maintenance off" in text_of(app, "#maintenance")

        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen), "the form")
        app.screen.query_one("#field-label", Input).value = LABEL
        await pilot.click("#run")
        await wait_for(
            pilot, lambda: len(table(app, "#backups").keys) == 1, "the new backup", timeout=60
        )
        assert column(app, "#backups", "label") == [LABEL]
        shown_sha = column(app, "#backups", "sha256")[0]
        await wait_for(pilot, lambda: "backups" in column(app, "#storage", "area"), "storage")

    archives = sorted(settings.backups_dir.glob("agentos-*.sqlite3")) + sorted(
        settings.backups_dir.glob("agentos-*.dump")
    )
    assert len(archives) == 1, list(settings.backups_dir.iterdir())
    assert archives[0].stat().st_size > 0
    assert hashlib.sha256(archives[0].read_bytes()).hexdigest().startswith(shown_sha)
    [record] = audit_of(runtime, "system.backup")
    assert (record.outcome, record.source, record.payload) == (
        "success",
        "tui",
        {"label": LABEL, "reason": None},
    )
    # The list was read on open and once more after the backup changed it, not per refresh.
    listed = audit_of(runtime, "system.backup.list")
    assert [(r.outcome, r.source) for r in listed] == [("success", "tui")] * 2
