"""Shared fixtures for the jobs/agents/queue API tests: a client without background workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.jobs import make_job


class Caller:
    def __init__(self, runtime: Runtime, role: str) -> None:
        self.runtime = runtime
        self.role = role
        self.id, token = create_user_and_token(runtime, role=role)
        self.headers = auth_headers(token)

    @property
    def actor(self) -> Actor:
        return Actor(name=f"{self.role}-test", role=self.role, id=self.id)

    def job(self, status: str = "queued", *, stages: int = 0, title: str = "clip me") -> uuid.UUID:
        with self.runtime.session() as session:
            ensure_default_agents(session)
            return make_job(session, self.actor, status, stages=stages, title=title).id


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    # No lifespan: the embedded runner would otherwise pick the test's queued jobs up.
    # A loopback peer: the admin-grade writes of the user API need the admin allow-list.
    test_client = TestClient(create_app(runtime), client=("127.0.0.1", 50000))
    yield test_client
    test_client.close()


@pytest.fixture
def alice(runtime: Runtime) -> Caller:
    return Caller(runtime, "user")


@pytest.fixture
def bob(runtime: Runtime) -> Caller:
    return Caller(runtime, "user")


@pytest.fixture
def operator(runtime: Runtime) -> Caller:
    return Caller(runtime, "operator")


@pytest.fixture
def readonly(runtime: Runtime) -> Caller:
    return Caller(runtime, "readonly")
