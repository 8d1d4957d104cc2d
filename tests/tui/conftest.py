"""A seeded deployment per test and an app bound to it (local mode)."""

from __future__ import annotations

import pytest

from agentos.schemas.seed import SeedResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from agentos.tui.screens import base
from tests.tui.pilots import Clock
from tests.tui.support import seed_deployment


@pytest.fixture
def seeded(settings: Settings, runtime: Runtime) -> SeedResult:
    return seed_deployment(runtime)


@pytest.fixture
def seeded_embedded(embedded_settings: Settings, embedded_runtime: Runtime) -> SeedResult:
    return seed_deployment(embedded_runtime)


@pytest.fixture
def moved_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock the views' fetch throttling reads, moved by the test."""
    moved = Clock()
    monkeypatch.setattr(base, "now", moved)
    return moved
