"""Idempotency through the pipeline: one execution under concurrency, replays, conflicts."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentos.errors import AgentOSError, ConflictError, InvalidError, RateLimitedError
from agentos.schemas.actions import ActionResponse
from agentos.services.backends import idempotency
from agentos.services.runtime import Runtime, backends_of
from agentos.settings import Settings
from tests.services.actions.helpers import ADMIN, outcomes, prepare, run
from tests.support.jobs import make_actor, make_job


@pytest.fixture
def ready(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> Runtime:
    prepare(runtime)
    return make_runtime(settings.model_copy(update={"action_rate_limits": {"standard": 1000}}))


def _queued(runtime: Runtime) -> uuid.UUID:
    with runtime.session() as session:
        return make_job(session, make_actor(session, "user"), "queued").id


def test_fifty_concurrent_identical_requests_execute_once(ready: Runtime) -> None:
    job_id = _queued(ready)
    start = threading.Barrier(50)

    def attempt(_: int) -> ActionResponse | AgentOSError:
        start.wait()
        try:
            return run(ready, "job.cancel", {"job_id": str(job_id)}, key="cancel-once")
        except AgentOSError as error:
            return error

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(attempt, range(50)))
    executed = [a for a in answers if isinstance(a, ActionResponse) and not a.replayed]
    replayed = [a for a in answers if isinstance(a, ActionResponse) and a.replayed]
    busy = [a for a in answers if isinstance(a, ConflictError)]
    assert len(executed) == 1
    assert len(executed) + len(replayed) + len(busy) == 50
    assert all(a.code == "IDEMPOTENCY_IN_PROGRESS" for a in busy)
    assert all(a.result == executed[0].result for a in replayed)
    assert all(a.audit_seq == executed[0].audit_seq for a in replayed)
    found = outcomes(ready, "job.cancel")
    assert found.count("success") == 1
    assert found.count("replayed") == len(replayed)
    assert found.count("conflict") == len(busy)


def test_replay_answers_the_stored_result_and_changes_nothing(ready: Runtime) -> None:
    job_id = _queued(ready)
    payload = {"job_id": str(job_id), "priority": 5}
    first = run(ready, "job.set_priority", payload, key="k1")
    again = run(ready, "job.set_priority", payload, key="k1")
    assert again.replayed
    assert not first.replayed
    assert again.result == first.result
    assert again.audit_seq == first.audit_seq
    assert outcomes(ready, "job.set_priority") == ["success", "replayed"]


def test_same_key_with_another_payload_is_refused(ready: Runtime) -> None:
    job_id = _queued(ready)
    run(ready, "job.set_priority", {"job_id": str(job_id), "priority": 5}, key="k2")
    with pytest.raises(InvalidError) as reused:
        run(ready, "job.set_priority", {"job_id": str(job_id), "priority": 6}, key="k2")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_same_key_while_the_first_runs_is_a_conflict(ready: Runtime) -> None:
    payload = {"job_id": str(uuid.uuid4())}
    fingerprint = idempotency.fingerprint("job.cancel", {**payload, "reason": None})
    with ready.session() as session:
        stored = backends_of(session).idempotency.claim(
            session, scope=idempotency.scope_of(ADMIN), key="k3", fingerprint=fingerprint
        )
    assert stored is None
    with pytest.raises(ConflictError) as busy:
        run(ready, "job.cancel", payload, key="k3")
    assert busy.value.code == "IDEMPOTENCY_IN_PROGRESS"


def test_an_error_that_reached_dispatch_is_replayed_too(ready: Runtime) -> None:
    missing = {"job_id": str(uuid.uuid4())}
    with pytest.raises(AgentOSError) as first:
        run(ready, "job.cancel", missing, key="k4")
    with pytest.raises(AgentOSError) as again:
        run(ready, "job.cancel", missing, key="k4")
    assert type(again.value) is type(first.value)
    assert again.value.code == first.value.code
    assert getattr(again.value, "replayed", False) is True
    assert outcomes(ready, "job.cancel") == ["failed", "replayed"]


def test_keys_are_scoped_to_the_actor(ready: Runtime) -> None:
    from tests.services.actions.helpers import actor

    run(ready, "queue.pause", key="shared")
    other = run(ready, "queue.pause", key="shared", who=actor("admin", name="bob"))
    assert not other.replayed


def test_a_refusal_before_dispatch_stores_nothing(
    ready: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    limited = make_runtime(
        ready.settings.model_copy(update={"action_rate_limits": {"standard": 1}})
    )
    run(limited, "queue.pause")
    with pytest.raises(RateLimitedError):
        run(limited, "queue.pause", key="k5")
    with pytest.raises(InvalidError):
        run(ready, "queue.clear", {}, key="k6")  # no confirm: refused, not stored
    assert not run(ready, "queue.clear", {"confirm": True}, key="k6").replayed
    assert not run(ready, "queue.pause", key="k5").replayed
