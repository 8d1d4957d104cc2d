"""What only the embedded bus has: a table shared by processes on one home."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from agentos.db.base import utcnow
from agentos.db.models.system import BusMessage
from agentos.services.backends.embedded_bus import EmbeddedBus
from agentos.services.runtime import Runtime
from agentos.settings import Settings

PUBLISHER = textwrap.dedent(
    """
    from agentos.services.runtime import Runtime
    from agentos.settings import Settings

    runtime = Runtime(Settings())
    runtime.backends.bus.publish(
        "jobs", {"job": "from-another-process", "pid": __import__("os").getpid()}
    )
    runtime.close()
    """
)


def test_event_published_by_another_process_arrives(
    embedded_settings: Settings, make_runtime: Callable[[Settings], Runtime]
) -> None:
    backends = make_runtime(embedded_settings).backends
    try:
        subscription = backends.bus.subscribe("jobs")
        env = {**os.environ, "AGENTOS_HOME": str(embedded_settings.home_dir)}
        done = subprocess.run(
            [sys.executable, "-c", PUBLISHER], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        event = subscription.get(timeout_s=10)
        assert event is not None
        assert event.channel == "jobs"
        assert event.payload["job"] == "from-another-process"
        assert event.payload["pid"] != os.getpid()
        assert subscription.get(timeout_s=0.5) is None
    finally:
        backends.close()


def test_publish_prunes_old_rows_but_keeps_the_newest(
    embedded_settings: Settings, embedded_runtime: Runtime
) -> None:
    engine = embedded_runtime.engine
    old = utcnow() - timedelta(hours=2)
    with engine.begin() as connection:
        connection.execute(
            insert(BusMessage),
            [{"channel": "old", "payload": {"n": n}, "created_at": old} for n in range(5)],
        )
    bus = EmbeddedBus(embedded_settings, engine=lambda: engine)
    try:
        bus.publish("fresh", {"n": 1})
        with engine.connect() as connection:
            channels = connection.execute(select(BusMessage.channel)).scalars().all()
        assert channels == ["fresh"]
    finally:
        bus.close()


def test_newest_old_row_survives_so_ids_never_restart(
    embedded_settings: Settings, embedded_runtime: Runtime
) -> None:
    engine = embedded_runtime.engine
    with engine.begin() as connection:
        connection.execute(
            insert(BusMessage),
            [{"channel": "old", "payload": {}, "created_at": utcnow() - timedelta(hours=3)}],
        )
        newest = connection.execute(select(func.max(BusMessage.id))).scalar_one()
    bus = EmbeddedBus(embedded_settings, engine=lambda: engine)
    try:
        subscription = bus.subscribe("fresh")
        bus.publish("fresh", {"n": 1})
        event = subscription.get(timeout_s=5)
        assert event is not None
        assert int(event.id) > newest
    finally:
        bus.close()


def test_close_stops_the_poller(embedded_settings: Settings, embedded_runtime: Runtime) -> None:
    bus = EmbeddedBus(embedded_settings, engine=lambda: embedded_runtime.engine)
    subscription = bus.subscribe("news")
    poller = bus._poller
    assert poller is not None
    assert poller.is_alive()
    bus.close()
    poller.join(timeout=10)
    assert not poller.is_alive()
    assert subscription.get(timeout_s=0.1) is None


@pytest.mark.postgres
def test_embedded_bus_on_postgres_loses_nothing_under_concurrent_publishers(
    postgres_url: str, tmp_path: Path, make_runtime: Callable[[Settings], Runtime]
) -> None:
    """Sequence ids can commit out of order on PostgreSQL; the poller re-reads the gaps."""
    settings = Settings(home=tmp_path / "home", database_url=postgres_url)
    receiver, sender = make_runtime(settings).backends, make_runtime(settings).backends
    try:
        subscription = receiver.bus.subscribe("load")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: sender.bus.publish("load", {"n": n}), range(200)))
        seen: list[int] = []
        while len(seen) < 200:
            event = subscription.get(timeout_s=10)
            assert event is not None, f"only {len(seen)} of 200 events arrived"
            seen.append(event.payload["n"])
        assert sorted(seen) == list(range(200))
        assert subscription.get(timeout_s=0.6) is None
    finally:
        receiver.close()
        sender.close()
