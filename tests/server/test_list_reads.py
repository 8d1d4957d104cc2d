"""The lists read in one hop to the thread pool, on a read session, as the cached caller
(`deps.in_one_hop`, `CachedActorDep`): no write transaction, so a writer holding SQLite's
write lock does not hold them up; and a disabled user is still refused at once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access, users
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token

LISTS = (
    "/api/jobs/history",
    "/api/jobs/history?sort=title&page=2&per_page=5",
    "/api/jobs/status/queued",
    "/api/jobs/recent/5",
    "/api/jobs/today",
    "/api/queue/details",
    "/api/upload",
    "/api/clips/recent",
)


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    """With its lifespan: the bus listener that drops revoked callers from the cache."""
    with TestClient(create_app(runtime), client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def test_lists_answer_while_a_writer_holds_the_write_lock(
    embedded_settings: Settings, embedded_runtime: Runtime
) -> None:
    _, token = create_user_and_token(embedded_runtime, role="user")
    headers = auth_headers(token)
    with TestClient(create_app(embedded_runtime), client=("127.0.0.1", 50000)) as client:
        for path in LISTS:  # the caller's token and account are now cached
            assert client.get(path, headers=headers).status_code == 200, path
        writer = sqlite3.connect(embedded_settings.resolved_database_url.split("///", 1)[1])
        writer.execute("PRAGMA busy_timeout = 0")
        writer.execute("BEGIN IMMEDIATE")  # another process's long write
        try:
            for path in LISTS:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.text)
        finally:
            writer.rollback()
            writer.close()


def test_a_disabled_user_is_refused_by_the_lists_at_once(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_access, "USER_CACHE_S", 600.0)  # only the announcement drops it
    user_id, token = create_user_and_token(runtime, role="user")
    headers = auth_headers(token)
    for path in LISTS:
        assert client.get(path, headers=headers).status_code == 200, path
    with runtime.session() as session:
        users.disable(session, user_id=user_id)  # announced: every process drops its cache
    deadline = time.monotonic() + 10  # the announcement's trip through the bus
    while client.get(LISTS[0], headers=headers).status_code == 200:
        assert time.monotonic() < deadline, "the revocation never reached the cache"
        time.sleep(0.02)
    for path in LISTS:
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (path, response.text)
