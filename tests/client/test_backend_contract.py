"""The Backend contract: `LocalBackend` and `HttpBackend` answer every call the same way.

Both run against the same seeded deployment (the HTTP one through a real `agentos` app on
a loopback socket, as an admin from an allowed address) and each test asserts that the
two answers agree, so a front end cannot tell which one it has except by `label`.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from agentos.client import Backend
from agentos.client.http import HttpBackend
from agentos.client.local import LocalBackend
from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.jobs import JobStatus
from agentos.schemas.seed import SeedOptions
from agentos.schemas.uploads import UploadFinalize, UploadInit
from agentos.server.app import create_app
from agentos.services import seed
from agentos.services.runtime import Runtime
from tests.support.auth import create_user_and_token
from tests.support.served import served

TIME_FIELDS = {"oldest_wait_s", "updated_at", "age_s", "response_time_ms", "total_counted_at"}


@dataclass
class Pair:
    local: Backend
    http: Backend

    @property
    def both(self) -> tuple[Backend, Backend]:
        return self.local, self.http


@pytest.fixture
def pair(runtime: Runtime) -> Iterator[Pair]:
    seed.reset_and_seed(runtime, options=SeedOptions(jobs=12, events=10, seed=3))
    _, token = create_user_and_token(runtime, role="admin", username="contract-admin")
    app = create_app(runtime, runner=lambda _runtime: None)  # data stays as seeded
    local = LocalBackend(runtime, owns_runtime=False)
    with served(app) as url:
        remote = HttpBackend(url, token)
        yield Pair(local, remote)
        remote.close()
    local.close()


def _plain(value: Any) -> Any:
    """JSON form without the fields that change between two calls."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in TIME_FIELDS}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def test_job_lists_and_details_agree(pair: Pair) -> None:
    for filters in ({}, {"status": [JobStatus.failed]}, {"search": "1", "per_page": 3}):
        local, remote = (backend.list_jobs(**filters) for backend in pair.both)  # type: ignore[arg-type]
        assert _plain(local) == _plain(remote), filters
    job_id = pair.local.list_jobs().data[0].id
    assert _plain(pair.local.show_job(job_id)) == _plain(pair.http.show_job(job_id))
    for backend in pair.both:
        with pytest.raises(NotFoundError):
            backend.show_job(uuid.uuid4())


def test_queue_snapshot_and_catalog_agree(pair: Pair) -> None:
    assert _plain(pair.local.queue_status()) == _plain(pair.http.queue_status())
    local, remote = pair.local.snapshot(), pair.http.snapshot()
    assert local.document.dashboard == remote.document.dashboard
    assert local.document.built_at == remote.document.built_at  # one cache, one document
    assert [item.name for item in pair.local.catalog()] == [
        item.name for item in pair.http.catalog()
    ]
    assert pair.local.describe("job.cancel") == pair.http.describe("job.cancel")
    assert pair.local.describe("no.such.action") is pair.http.describe("no.such.action") is None
    local_status = pair.local.action_status(recent=5)
    remote_status = pair.http.action_status(recent=5)
    assert local_status.catalog == remote_status.catalog
    assert local_status.breakers == remote_status.breakers


def test_actions_and_their_errors_agree(pair: Pair) -> None:
    queued = pair.local.list_jobs(status=[JobStatus.queued]).data
    for backend, job in zip(pair.both, queued, strict=False):
        done = backend.run_action("job.set_priority", {"job_id": str(job.id), "priority": 7})
        assert done.result["priority"] == 7
        assert done.audit_seq is not None
    for backend in pair.both:
        with pytest.raises(InvalidError) as unknown:
            backend.run_action("no.such.action")
        assert unknown.value.code == "UNKNOWN_ACTION"
        with pytest.raises(InvalidError) as unconfirmed:
            backend.run_action("queue.clear", {})
        assert unconfirmed.value.code == "CONFIRMATION_REQUIRED"


def test_audit_search_covers_the_whole_table_on_both(pair: Pair) -> None:
    job_id = pair.local.list_jobs(status=[JobStatus.queued]).data[0].id
    for _ in range(3):
        for backend in pair.both:
            backend.run_action("job.set_priority", {"job_id": str(job_id), "priority": 1})
    local = pair.local.audit_search(action="job.set_priority", limit=4)
    remote = pair.http.audit_search(action="job.set_priority", limit=4)
    assert [r.seq for r in local.records] == [r.seq for r in remote.records]
    assert local.next_cursor == remote.next_cursor is not None
    older = pair.http.audit_search(action="job.set_priority", before_seq=remote.next_cursor)
    assert len(remote.records) + len(older.records) == 6  # every record, across pages
    by_actor = pair.local.audit_search(actor="contract-admin", action="job.set_priority")
    assert {record.source for record in by_actor.records} == {"api"}


def test_configuration_agrees(pair: Pair) -> None:
    local, remote = pair.local.config(), pair.http.config()
    assert local.effective == remote.effective
    assert local.runtime == remote.runtime
    assert local.deployment == remote.deployment
    secret = {item.name: item.value for item in local.effective}["secret_key"]
    assert secret in (None, "****")
    only = pair.http.config("ssot_cache_ttl_s")
    assert [item.name for item in only.effective] == ["ssot_cache_ttl_s"]
    for backend in pair.both:
        with pytest.raises(NotFoundError):
            backend.config("no_such_setting")


def test_uploads_go_the_same_way(pair: Pair) -> None:
    data = b"not really a video, but bytes all the same" * 2000
    digest = hashlib.sha256(data).hexdigest()
    for backend in pair.both:
        upload = backend.init_upload(
            UploadInit(filename="same.mp4", total_size=len(data), sha256=digest, chunk_size=65536)
        )
        assert backend.upload_status(upload.id).missing_chunks == [0, 1]
        for index in (1, 0):
            chunk = data[index * 65536 : (index + 1) * 65536]
            backend.put_chunk(upload.id, index, chunk, hashlib.sha256(chunk).hexdigest())
        assert backend.upload_status(upload.id).missing_chunks == []
        done = backend.finalize_upload(UploadFinalize(upload_id=upload.id, create_job=False))
        assert done.upload.status == "finalized"
        assert done.job_id is None


def test_local_only_calls_say_so_remotely(pair: Pair) -> None:
    assert pair.local.database_is_empty() is False
    assert pair.local.check_schema().differences == []
    assert pair.local.list_users().pagination.total >= 1
    # Accounts are administered remotely too (the Managers actions).
    assert pair.http.list_users().pagination.total == pair.local.list_users().pagination.total
    calls = [
        lambda: pair.http.database_is_empty(),
        lambda: pair.http.check_schema(),
        lambda: pair.http.migrate(),
        lambda: pair.http.mint_token(username="admin"),
        lambda: pair.http.reset_and_seed(options=SeedOptions(jobs=1)),
    ]
    for call in calls:
        with pytest.raises(InvalidError) as refused:
            call()
        assert refused.value.code == "LOCAL_ONLY"


def test_both_deliver_live_changes(pair: Pair) -> None:
    job_id = pair.local.list_jobs(status=[JobStatus.queued]).data[0].id
    seen: dict[str, threading.Event] = {"local": threading.Event(), "http": threading.Event()}
    live: dict[str, threading.Event] = {"local": threading.Event(), "http": threading.Event()}
    stops = []
    for name, backend in (("local", pair.local), ("http", pair.http)):

        def on_event(event: dict[str, Any], name: str = name) -> None:
            if event.get("kind") == "job.status" and event.get("job_id") == str(job_id):
                seen[name].set()

        def on_state(state: str, _detail: str, name: str = name) -> None:
            if state == "live":
                live[name].set()

        stops.append(backend.subscribe(on_event=on_event, on_state=on_state))
    try:
        assert all(event.wait(10) for event in live.values())
        pair.local.run_action("job.cancel", {"job_id": str(job_id)})
        assert seen["local"].wait(10)
        assert seen["http"].wait(10)
    finally:
        for stop in stops:
            stop()
    for backend in pair.both:
        with backend.changes() as changes:
            changes.wait(0.01)  # returns on a change or after the pause, never hangs


def test_short_ids_and_unserved_agents_agree(pair: Pair) -> None:
    job_id = pair.local.list_jobs().data[0].id
    for backend in pair.both:
        assert backend.resolve_job_id(str(job_id)[:8]) == job_id
        assert backend.resolve_job_id(str(job_id).upper()) == job_id
        with pytest.raises(NotFoundError) as missing:
            backend.resolve_job_id("ffffffffffff")
        assert missing.value.code == "JOB_NOT_FOUND"
        with pytest.raises(InvalidError) as invalid:
            backend.resolve_job_id("nope")
        assert invalid.value.code == "INVALID_ID"
        listed = backend.list_jobs(id_prefix=str(job_id)[:8])
        assert [job.id for job in listed.data] == [job_id]
    # No worker runs in this test: every agent waits for one, said the same way by both.
    assert pair.local.unserved_agents() == pair.http.unserved_agents()
    assert len(pair.local.unserved_agents()) == 6
    assert pair.http.in_process_runner(["ingest"]) is None
