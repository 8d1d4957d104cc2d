"""The action route's thread lanes: a small pool for quick work, the general one for slow."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable

import pytest

from agentos.server.offload import Lanes

REQUEST = contextvars.ContextVar("request", default="none")


def _thread() -> str:
    return threading.current_thread().name


def test_quick_work_runs_in_the_small_pool_with_the_callers_context() -> None:
    lanes = Lanes(workers=2, slow_after_s=0.5)

    async def main() -> tuple[str, str]:
        REQUEST.set("r-1")
        return await lanes.run("ack", lambda: (_thread(), REQUEST.get()))

    thread, seen = asyncio.run(main())
    assert thread.startswith("agentos-quick")
    assert seen == "r-1"
    assert lanes.is_slow("ack") is False


def test_a_slow_kind_moves_to_the_general_pool_and_quick_runs_bring_it_back() -> None:
    lanes = Lanes(workers=1, slow_after_s=0.05)

    async def main() -> list[str]:
        places = [await lanes.run("backup", lambda: (time.sleep(0.08), _thread())[1])]
        assert lanes.is_slow("backup")
        for _ in range(3):  # 0.08 -> 0.04 -> 0.02 -> 0.01: quick again after the first
            places.append(await lanes.run("backup", _thread))
        return places

    places = asyncio.run(main())
    assert places[0].startswith("agentos-quick")  # unknown kinds start as quick
    assert not places[1].startswith("agentos-quick")
    assert all(place.startswith("agentos-quick") for place in places[2:])
    assert lanes.is_slow("backup") is False


def test_a_slow_kind_does_not_hold_up_the_quick_pool() -> None:
    lanes = Lanes(workers=1, slow_after_s=0.05)
    release = threading.Event()

    async def main() -> str:
        await lanes.run("export", time.sleep, 0.08)  # now known to be slow
        slow = asyncio.ensure_future(lanes.run("export", release.wait, 10))
        await asyncio.sleep(0.05)  # the export is running, on the general pool
        quick = await asyncio.wait_for(lanes.run("ack", _thread), timeout=5)
        release.set()
        await slow
        return quick

    assert asyncio.run(main()).startswith("agentos-quick")


def test_run_then_answers_before_the_work_left_for_later_runs() -> None:
    """The action route answers once the commit is durable; the bus announcement and the
    session's close (`later`) follow on the same thread, and `finished` says when."""
    lanes = Lanes(workers=1, slow_after_s=0.5)
    release = threading.Event()
    ran: list[str] = []

    def work(later: list[Callable[[], object]]) -> str:
        later.append(lambda: (release.wait(10), ran.append(_thread())))
        later.append(lambda: 1 / 0)  # a failing callback is logged, the next still runs
        later.append(lambda: ran.append("after the failure"))
        return "answer"

    async def main() -> tuple[str, bool]:
        answer, finished = await lanes.run_then("ack", work)
        pending = not finished.done()
        release.set()
        await asyncio.wait_for(finished.wait(), timeout=10)
        return answer, pending

    answer, pending = asyncio.run(main())
    assert (answer, pending) == ("answer", True)
    assert ran[0].startswith("agentos-quick")
    assert ran[1:] == ["after the failure"]


def test_run_then_runs_later_before_it_raises() -> None:
    """An error is answered with nothing left behind it: `later` already ran."""
    lanes = Lanes(workers=1, slow_after_s=0.5)
    ran: list[str] = []

    def work(later: list[Callable[[], object]]) -> str:
        later.append(lambda: ran.append("closed"))
        raise ValueError("refused")

    async def main() -> None:
        with pytest.raises(ValueError, match="refused"):
            await lanes.run_then("ack", work)
        assert ran == ["closed"]

    asyncio.run(main())


def test_run_then_of_a_slow_kind_runs_later_before_answering() -> None:
    lanes = Lanes(workers=1, slow_after_s=0.05)
    ran: list[str] = []

    def work(later: list[Callable[[], object]]) -> str:
        later.append(lambda: ran.append(_thread()))
        time.sleep(0.08)
        return "done"

    async def main() -> None:
        _, first = await lanes.run_then("export", work)  # now known to be slow
        await asyncio.wait_for(first.wait(), timeout=10)  # its `later` ran on the quick lane
        ran.clear()
        answer, finished = await lanes.run_then("export", work)
        assert answer == "done"
        assert finished.done()
        assert len(ran) == 1
        assert not ran[0].startswith("agentos-quick")

    asyncio.run(main())
