"""A seeded deployment per test and an app bound to it (local mode)."""

from __future__ import annotations

import pytest

from agentos.schemas.seed import SeedResult
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.tui.support import seed_deployment


@pytest.fixture
def seeded(settings: Settings, runtime: Runtime) -> SeedResult:
    return seed_deployment(runtime)


@pytest.fixture
def seeded_embedded(embedded_settings: Settings, embedded_runtime: Runtime) -> SeedResult:
    return seed_deployment(embedded_runtime)
