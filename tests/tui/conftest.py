"""A seeded deployment per test and an app bound to it (local mode)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentos.schemas.seed import SeedResult
from agentos.services import admin_data
from agentos.settings import Settings
from tests.tui.support import seed_deployment


@pytest.fixture
def seeded(settings: Settings) -> Iterator[SeedResult]:
    yield seed_deployment(settings)
    admin_data.reset(settings)


@pytest.fixture
def seeded_embedded(embedded_settings: Settings) -> Iterator[SeedResult]:
    yield seed_deployment(embedded_settings)
    admin_data.reset(embedded_settings)
