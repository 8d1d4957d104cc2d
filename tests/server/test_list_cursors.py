"""Issue 19: every list pages by cursor (keyset) as well as by number, on both deployments.

A walk by `pagination.next_cursor` returns every row exactly once, in the list's order, for
every order `GET /api/jobs/history` offers; jobs added during a walk never make a row come
twice; `prev_cursor` goes back; a cursor that is not one of ours (or is for another list,
filter or order) is 422 BAD_CURSOR in the error envelope; `page`/`per_page` still work.
"""
# ruff: noqa: F811  (pytest fixtures imported from jobs_api_support)

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentos.db.base import utcnow
from agentos.db.models import Job, SystemEvent, Upload
from agentos.db.models.listing import STAGES
from agentos.schemas.jobs import JOB_STATUSES
from agentos.server.app import create_app
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.runtime import Runtime
from tests.server.jobs_api_support import Caller, alice, operator  # noqa: F401
from tests.support.st import unlimited

HISTORY = "/api/jobs/history"
TITLES = ("b-clip", "A-clip", "a-clip", "C-clip", "b-clip")
SORTS = ("created_at", "updated_at", "priority", "status", "title", "progress", "attempts",
         "current_stage", "id")  # fmt: skip


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """A client whose walks are not cut short by the per-user rate limit (no lifespan: no
    runner takes the queued jobs)."""
    test_client = TestClient(create_app(unlimited(runtime.settings)), client=("127.0.0.1", 9))
    yield test_client
    test_client.close()


def _add(runtime: Runtime, owner: Caller, count: int, *, minutes_ago: float = 0) -> list[Job]:
    """`count` jobs with many equal sort values (pairs share created_at) and mixed case."""
    now = utcnow() - timedelta(minutes=minutes_ago)
    rows = []
    with runtime.session() as session:
        for index in range(count):
            at = now - timedelta(seconds=index // 2)  # ties: the id decides
            job = Job(
                title=TITLES[index % len(TITLES)],
                status=JOB_STATUSES[index % len(JOB_STATUSES)],
                priority=index % 3,
                attempts=index % 2,
                progress=(index % 4) / 4,
                current_stage=None if index % 7 == 0 else PIPELINE[index % len(PIPELINE)],
                owner_id=owner.id,
                created_at=at,
                updated_at=at + timedelta(seconds=index % 5),
            )
            session.add(job)
            rows.append(job)
        session.flush()
        session.expunge_all()
    return rows


def _key(job: Job, sort: str) -> Any:
    if sort == "status":
        return JOB_STATUSES.index(job.status)
    if sort == "current_stage":
        return STAGES.index(job.current_stage) if job.current_stage in STAGES else -1
    if sort == "title":
        return job.title.lower()
    return getattr(job, sort)


def _expected(jobs: list[Job], sort: str, order: str) -> list[str]:
    ordered = sorted(jobs, key=lambda job: (_key(job, sort), job.id), reverse=order == "desc")
    return [str(job.id) for job in ordered]


def _walk(
    client: TestClient, caller: Caller, path: str, params: dict[str, Any]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page by next_cursor: (the ids in the order read, each page's pagination)."""
    ids: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        asked = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=asked, headers=caller.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [row.get("id") or row.get("step_id") or row["ref_id"] for row in body["data"]]
        pages.append(body["pagination"])
        cursor = body["pagination"]["next_cursor"]
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_cursor_walk_returns_every_job_once_in_every_order(
    client: TestClient, runtime: Runtime, operator: Caller, order: str
) -> None:
    jobs = _add(runtime, operator, 23)
    for sort in SORTS:
        ids, pages = _walk(client, operator, HISTORY, {"sort": sort, "order": order, "per_page": 4})
        assert ids == _expected(jobs, sort, order), sort
        assert [page["page"] for page in pages] == list(range(1, 7))
        assert [page["has_next"] for page in pages] == [True] * 5 + [False]
        assert {page["total"] for page in pages} == {23}


def test_jobs_added_during_a_walk_never_come_twice(
    client: TestClient, runtime: Runtime, operator: Caller
) -> None:
    first = {str(job.id) for job in _add(runtime, operator, 10)}
    seen: list[str] = []
    cursor: str | None = None
    for step in range(20):
        params = {"per_page": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get(HISTORY, params=params, headers=operator.headers).json()
        seen += [job["id"] for job in body["data"]]
        if step == 0:  # newer jobs (before the cursor) and one older than all (after it)
            _add(runtime, operator, 4)
            older = {str(job.id) for job in _add(runtime, operator, 1, minutes_ago=60)}
        cursor = body["pagination"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) == first | older


def test_prev_cursor_goes_back_and_page_numbers_still_work(
    client: TestClient, runtime: Runtime, operator: Caller
) -> None:
    jobs = _add(runtime, operator, 12)
    expected = _expected(jobs, "created_at", "desc")
    by_number = client.get(HISTORY, params={"page": 2, "per_page": 5}, headers=operator.headers)
    body = by_number.json()
    assert [job["id"] for job in body["data"]] == expected[5:10]
    assert body["pagination"] | {"next_cursor": None, "prev_cursor": None} == {
        "page": 2, "per_page": 5, "total": 12, "total_pages": 3, "has_next": True,
        "has_prev": True, "total_counted_at": None, "next_cursor": None, "prev_cursor": None,
    }  # fmt: skip

    beyond = client.get(HISTORY, params={"page": 9, "per_page": 5}, headers=operator.headers)
    assert beyond.json()["data"] == []
    assert beyond.json()["pagination"]["total_pages"] == 3
    assert beyond.json()["pagination"]["has_next"] is False

    def by_cursor(cursor: str) -> dict[str, Any]:
        params = {"per_page": 5, "cursor": cursor}
        return client.get(HISTORY, params=params, headers=operator.headers).json()

    third = by_cursor(body["pagination"]["next_cursor"])
    assert [job["id"] for job in third["data"]] == expected[10:]
    assert third["pagination"]["page"] == 3
    back = by_cursor(third["pagination"]["prev_cursor"])
    assert [job["id"] for job in back["data"]] == expected[5:10]
    assert back["pagination"]["page"] == 2
    start = by_cursor(back["pagination"]["prev_cursor"])
    assert [job["id"] for job in start["data"]] == expected[:5]
    assert start["pagination"]["prev_cursor"] is None
    assert start["pagination"]["has_prev"] is False


def _forged(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_cursor_that_is_not_ours_is_bad_cursor(
    client: TestClient, runtime: Runtime, operator: Caller
) -> None:
    _add(runtime, operator, 3)
    made = client.get(HISTORY, params={"per_page": 1}, headers=operator.headers).json()
    cursor = made["pagination"]["next_cursor"]
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    bad = [
        "garbage",
        "!!!",
        _forged({"v": 1}),
        _forged({**payload, "k": ["not a time", str(uuid.uuid4())]}),
        _forged({**payload, "k": [payload["k"][0]]}),
        _forged({**payload, "p": -1}),
        _forged({**payload, "p": True}),
    ]
    for token in bad:
        response = client.get(HISTORY, params={"cursor": token}, headers=operator.headers)
        assert response.status_code == 422, token
        body = response.json()
        assert body["success"] is False
        assert body["error_code"] == "BAD_CURSOR", token
        assert "timestamp" in body
    elsewhere = [
        (HISTORY, {"sort": "title"}),
        (HISTORY, {"order": "asc"}),
        (HISTORY, {"status": "queued"}),
        ("/api/jobs/status/queued", {}),
        ("/api/queue/details", {}),
    ]
    for path, params in elsewhere:
        response = client.get(path, params={**params, "cursor": cursor}, headers=operator.headers)
        assert response.json()["error_code"] == "BAD_CURSOR", (path, params)
    too_long = client.get(HISTORY, params={"cursor": "a" * 2000}, headers=operator.headers)
    assert too_long.status_code == 422
    assert too_long.json()["error_code"] == "VALIDATION_ERROR"


def test_a_users_walk_shows_only_their_jobs(
    client: TestClient, runtime: Runtime, alice: Caller, operator: Caller
) -> None:
    own = _add(runtime, alice, 7)
    _add(runtime, operator, 5)
    for path in (HISTORY, f"/api/jobs/user/{alice.id}"):
        ids, pages = _walk(client, alice, path, {"per_page": 3})
        assert ids == _expected(own, "created_at", "desc")
        assert pages[0]["total"] == 7


def test_status_list_walk(client: TestClient, runtime: Runtime, operator: Caller) -> None:
    jobs = [job for job in _add(runtime, operator, 30) if job.status == "failed"]
    ids, _ = _walk(client, operator, "/api/jobs/status/failed", {"per_page": 2})
    assert ids == _expected(jobs, "created_at", "desc")


def test_queue_and_agent_lists_walk_by_cursor(
    client: TestClient, runtime: Runtime, operator: Caller
) -> None:
    made = [operator.job() for _ in range(5)] + [operator.job("processing")]
    with runtime.session() as session:
        ensure_default_agents(session)
        for index in range(4):
            session.add(SystemEvent(severity="info", source="ingest", message=f"note {index}"))
    queue, pages = _walk(client, operator, "/api/queue/details", {"per_page": 2})
    assert len(queue) == len(set(queue)) == 6
    assert pages[0]["total"] == 6
    by_number = client.get("/api/queue/details", params={"per_page": 50}, headers=operator.headers)
    assert [row["step_id"] for row in by_number.json()["data"]] == queue
    assert by_number.json()["data"][0]["job_id"] == str(made[-1])  # running first
    agent_queue, _ = _walk(client, operator, "/api/agents/queue/ingest", {"per_page": 2})
    assert len(agent_queue) == len(set(agent_queue)) == 5
    logs, log_pages = _walk(client, operator, "/api/agents/logs/ingest", {"per_page": 3})
    everything = client.get(
        "/api/agents/logs/ingest", params={"per_page": 100}, headers=operator.headers
    ).json()
    assert logs == [row["ref_id"] for row in everything["data"]]
    assert len(logs) == len(set(logs)) == log_pages[0]["total"] == 10  # 6 steps, 4 events
    times = [row["at"] for row in everything["data"]]
    assert times == sorted(times, reverse=True)


def test_uploads_walk_by_cursor(client: TestClient, runtime: Runtime, alice: Caller) -> None:
    at = utcnow()
    with runtime.session() as session:
        made = [
            Upload(
                owner_id=alice.id,
                filename=f"u{index}.mp4",
                total_size=10,
                sha256="0" * 64,
                chunk_size=10,
                total_chunks=1,
                created_at=at - timedelta(seconds=index // 2),  # pairs tie: the id decides
            )
            for index in range(7)
        ]
        session.add_all(made)
        session.flush()
        expected = [
            str(upload.id)
            for upload in sorted(made, key=lambda row: (row.created_at, row.id), reverse=True)
        ]
    ids, pages = _walk(client, alice, "/api/upload", {"per_page": 3})
    assert ids == expected
    assert pages[0]["total"] == 7
