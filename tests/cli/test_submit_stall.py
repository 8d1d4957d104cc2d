"""`jobs submit --wait` never waits in silence: a job that sits queued (its workforce
could not be read, or its worker went away) is reported once, while following it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from agentos.cli import _submit
from agentos.client import uploading
from agentos.errors import ForbiddenError, UnavailableError
from agentos.schemas.jobs import JOB_EXAMPLE, JobDetail


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class Stuck:
    """A backend whose job never leaves the queue, and that may not read the workforce."""

    kind = "http"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def show_job(self, job_id: uuid.UUID) -> JobDetail:
        return JobDetail.model_validate(
            {**JOB_EXAMPLE, "id": str(job_id), "status": "queued", "current_stage": "ingest"}
        )

    def unserved_agents(self) -> list[str]:
        raise ForbiddenError("not for this role")

    @contextmanager
    def changes(self) -> Iterator[Any]:
        clock = self.clock

        class Waiter:
            def wait(self, timeout_s: float) -> None:
                clock.now += 10

        yield Waiter()


def test_a_job_stuck_in_the_queue_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    monkeypatch.setattr(uploading.time, "monotonic", clock.monotonic)
    backend: Any = Stuck(clock)
    with pytest.raises(UnavailableError) as timed_out:
        _submit.follow_job(backend, uuid.uuid4(), quiet=True, timeout_s=100)
    assert timed_out.value.code == "WAIT_TIMEOUT"
    err = capsys.readouterr().err
    assert err.count("has waited at ingest for 30 s: is a worker running?") == 1
    assert "agentos worker" in err
