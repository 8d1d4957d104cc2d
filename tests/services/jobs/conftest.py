"""Helpers for job service tests: a session, actors, and jobs in a given state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings


@pytest.fixture
def session(settings: Settings, runtime: Runtime) -> Iterator[Session]:
    with runtime.session() as session:
        ensure_default_agents(session)
        yield session


@pytest.fixture
def operator() -> Actor:
    return Actor(name="op", role="operator", id=None)
