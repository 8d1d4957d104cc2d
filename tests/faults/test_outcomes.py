"""The small rules the fault scenarios rely on, each checked on its own (no services)."""

from __future__ import annotations

import errno
import os

import pytest
from sqlalchemy.exc import OperationalError

from agentos.errors import InternalError, UnavailableError
from agentos.services import admin_data, outages
from agentos.services.admin_data import build
from agentos.services.pipeline import failures
from agentos.services.runtime import Runtime

pytestmark = [pytest.mark.faults]


def _outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_a_full_disk_is_an_outage_with_its_own_code() -> None:
    for number in (errno.ENOSPC, errno.EDQUOT):
        found = outages.as_unavailable(OSError(number, os.strerror(number)))
        assert found is not None
        assert found.code == "INSUFFICIENT_STORAGE"
    assert outages.as_unavailable(OSError(errno.EACCES, "denied")) is None


def test_a_failure_is_recorded_once_the_database_answers_again() -> None:
    attempts: list[int] = []
    pauses: list[float] = []

    def record() -> str:
        attempts.append(1)
        if len(attempts) < 4:
            raise _outage()
        return "retrying"

    assert failures.recorded(record, sleep=pauses.append) == "retrying"
    assert len(attempts) == 4
    assert pauses == [0.25, 0.5, 1.0]


def test_recording_gives_up_after_its_patience_and_never_retries_a_bug() -> None:
    def down() -> str:
        raise _outage()

    with pytest.raises(OperationalError):
        failures.recorded(down, patience_s=0.0, sleep=lambda _s: None)

    calls: list[int] = []

    def bug() -> str:
        calls.append(1)
        raise KeyError("x")

    with pytest.raises(KeyError):
        failures.recorded(bug, sleep=lambda _s: None)
    assert calls == [1]


def test_the_ssot_document_answers_503_not_500_while_the_database_is_down(
    embedded_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(_runtime: Runtime, _task: object) -> object:
        raise _outage()

    monkeypatch.setattr(build, "_run", down)
    with pytest.raises(UnavailableError) as raised:
        build.collect(embedded_runtime)
    assert raised.value.code == "DATABASE_UNAVAILABLE"
    store = admin_data.store_for(embedded_runtime)
    with pytest.raises(UnavailableError):
        store.get()
    assert store.cache_available  # the database was down, not the cache

    def bug(_runtime: Runtime, _task: object) -> object:
        raise ValueError("a bug")

    monkeypatch.setattr(build, "_run", bug)
    with pytest.raises(InternalError):
        build.collect(embedded_runtime)
