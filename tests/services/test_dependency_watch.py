"""The dependency watch: each part going down or coming back is one system event, whichever
process probes; a database outage is recorded once the database is back."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from sqlalchemy import select

from agentos.db.models import SystemEvent
from agentos.schemas.health import HealthPart, HealthReport
from agentos.services import health
from agentos.services.runtime import Runtime
from agentos.settings import Settings


def _events(runtime: Runtime) -> list[tuple[str, str, str]]:
    with runtime.read_session() as session:
        rows = session.scalars(
            select(SystemEvent)
            .where(SystemEvent.kind.like("dependency_%"))
            .order_by(SystemEvent.created_at)
        ).all()
        return [(row.kind, row.source, row.severity) for row in rows]


def _report(**statuses: str) -> HealthReport:
    parts = {
        name: HealthPart(status=status, required=name == "database", backend="test")  # type: ignore[arg-type]
        for name, status in statuses.items()
    }
    return HealthReport(status="healthy", version="t", deployment="embedded", parts=parts)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the next probes answer the given states."""
    answers: list[HealthReport] = []
    monkeypatch.setattr(health, "check", lambda **_: answers.pop(0))

    def script(*reports: HealthReport) -> None:
        answers.extend(reports)

    return script


def test_transitions_are_recorded_once(runtime: Runtime, scripted: Callable[..., None]) -> None:
    scripted(
        _report(database="up", cache="up"),
        _report(database="up", cache="down"),
        _report(database="up", cache="down"),
        _report(database="up", cache="up"),
        _report(database="up", cache="up"),
    )
    for _ in range(5):
        health.watch(runtime)
    assert _events(runtime) == [
        ("dependency_down", "health.cache", "warning"),
        ("dependency_up", "health.cache", "info"),
    ]


def test_a_second_process_does_not_repeat_a_transition(
    settings: Settings,
    runtime: Runtime,
    make_runtime: Callable[[Settings], Runtime],
    scripted: Callable[..., None],
) -> None:
    other = make_runtime(settings)
    scripted(_report(database="up", bus="down"), _report(database="up", bus="down"))
    health.watch(runtime)
    health.watch(other)
    assert _events(runtime) == [("dependency_down", "health.bus", "warning")]


def test_a_database_outage_is_recorded_when_it_is_back(
    runtime: Runtime, scripted: Callable[..., None]
) -> None:
    scripted(
        _report(database="up"),
        _report(database="down"),
        _report(database="down"),
        _report(database="up"),
    )
    for _ in range(4):
        health.watch(runtime)
    assert _events(runtime) == [("dependency_up", "health.database", "info")]
    with runtime.read_session() as session:
        message = session.scalar(
            select(SystemEvent.message).where(SystemEvent.kind == "dependency_up")
        )
    assert message is not None
    assert message.startswith("database is back after")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.postgres
@pytest.mark.redis
def test_a_real_dead_redis_is_an_error_event_then_back(
    postgres_url: str, redis_url: str, tmp_path: object, make_runtime: Callable[[Settings], Runtime]
) -> None:
    live = Settings(home=tmp_path, database_url=postgres_url, redis_url=redis_url)  # type: ignore[arg-type]
    dead = live.model_copy(update={"redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    health.watch(make_runtime(live))
    health.watch(make_runtime(dead))
    health.watch(make_runtime(live))
    seen = _events(make_runtime(live))
    assert ("dependency_down", "health.broker", "error") in seen  # required: an error
    assert ("dependency_down", "health.cache", "warning") in seen
    assert ("dependency_up", "health.broker", "info") in seen
