"""A worker process's change listener: the stored state is re-read only once changes are
heard, so a change announced between the two is applied, never lost (a log level set
while a Celery pool process was starting stayed unapplied before)."""

from __future__ import annotations

import threading
from typing import Any

from agentos.services import events
from agentos.services.runtime import Runtime
from agentos.tasks.worker import follow_changes


def test_a_change_announced_while_the_state_is_read_is_still_applied(runtime: Runtime) -> None:
    order: list[str] = []
    applied = threading.Event()
    stop = threading.Event()

    def reread() -> None:
        order.append("reread")
        # A change announced after the subscription and before the stored state is read.
        runtime.backends.bus.publish(events.CHANGES_CHANNEL, {"kind": "config", "n": 1})

    def on_change(change: dict[str, Any]) -> None:
        order.append(f"change {change.get('n')}")
        applied.set()

    listener = threading.Thread(
        target=follow_changes, args=(runtime, on_change, stop), kwargs={"on_subscribed": reread}
    )
    listener.start()
    try:
        assert applied.wait(10), order
    finally:
        stop.set()
        listener.join(5)
    assert order == ["reread", "change 1"]


def test_a_failing_reread_does_not_stop_the_listener(runtime: Runtime) -> None:
    heard = threading.Event()
    stop = threading.Event()
    subscribed = threading.Event()

    def reread() -> None:
        subscribed.set()
        raise RuntimeError("database down")

    listener = threading.Thread(
        target=follow_changes,
        args=(runtime, lambda change: heard.set(), stop),
        kwargs={"on_subscribed": reread},
    )
    listener.start()
    try:
        assert subscribed.wait(10)
        runtime.backends.bus.publish(events.CHANGES_CHANNEL, {"kind": "config"})
        assert heard.wait(10)
    finally:
        stop.set()
        listener.join(5)
