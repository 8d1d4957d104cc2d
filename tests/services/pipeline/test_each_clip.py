"""`stage_functions.each_clip`: the clipper's and thumbs' work on a job's clips, in parallel."""

from __future__ import annotations

import threading
import time

import pytest

from agentos.media._common import MediaCancelled
from agentos.services.pipeline.stage_functions import each_clip


def test_results_keep_the_items_order_and_run_at_once() -> None:
    running, most = 0, 0
    lock = threading.Lock()
    progress: list[float] = []

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02 * (5 - item))  # later items finish first
        with lock:
            running -= 1
        return item * 10

    assert each_clip([0, 1, 2, 3, 4], work, parallel=3, on_progress=progress.append) == [
        0,
        10,
        20,
        30,
        40,
    ]
    assert most == 3
    assert progress == [0.2, 0.4, 0.6, 0.8, 1.0]


def test_one_at_a_time_when_asked() -> None:
    seen: list[str] = []
    each_clip(
        ["a", "b"],
        lambda item: seen.append(threading.current_thread().name),
        parallel=1,
        on_progress=lambda _f: None,
    )
    assert seen == [threading.current_thread().name] * 2


def test_a_failure_stops_the_items_not_yet_started() -> None:
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        if item == 0:
            raise MediaCancelled("cancelled")
        time.sleep(0.05)
        return item

    with pytest.raises(MediaCancelled):
        each_clip(list(range(20)), work, parallel=2, on_progress=lambda _f: None)
    assert len(started) < 20


def test_no_items_no_work() -> None:
    assert each_clip([], lambda item: item, parallel=0, on_progress=lambda _f: None) == []
