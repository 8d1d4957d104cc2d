"""Shared fixtures for the jobs/agents/queue API tests: a client without background workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentos.db.session import session_scope
from agentos.server.app import create_app
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.jobs import make_job


class Caller:
    def __init__(self, settings: Settings, role: str) -> None:
        self.settings = settings
        self.role = role
        self.id, token = create_user_and_token(settings, role=role)
        self.headers = auth_headers(token)

    @property
    def actor(self) -> Actor:
        return Actor(name=f"{self.role}-test", role=self.role, id=self.id)

    def job(self, status: str = "queued", *, stages: int = 0, title: str = "clip me") -> uuid.UUID:
        with session_scope(self.settings) as session:
            ensure_default_agents(session)
            return make_job(session, self.actor, status, stages=stages, title=title).id


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # No lifespan: the embedded runner would otherwise pick the test's queued jobs up.
    test_client = TestClient(create_app(settings))
    yield test_client
    test_client.close()


@pytest.fixture
def alice(settings: Settings) -> Caller:
    return Caller(settings, "user")


@pytest.fixture
def bob(settings: Settings) -> Caller:
    return Caller(settings, "user")


@pytest.fixture
def operator(settings: Settings) -> Caller:
    return Caller(settings, "operator")


@pytest.fixture
def readonly(settings: Settings) -> Caller:
    return Caller(settings, "readonly")
