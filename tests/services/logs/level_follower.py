"""A second process that follows the bus as a server does (`agentos.server.live.follow`):
it prints the effective level of each logger named on its command line, one JSON line
every time they change, until it is stopped. Run by test_set_level.py."""

from __future__ import annotations

import json
import logging
import sys

from agentos.server.live import follow
from agentos.services import events
from agentos.services.config import live
from agentos.services.logs import setup
from agentos.services.runtime import Runtime
from agentos.settings import Settings


def levels(names: list[str]) -> dict[str, str]:
    return {
        name: logging.getLevelName(logging.getLogger(name).getEffectiveLevel()) for name in names
    }


def main(names: list[str]) -> None:
    runtime = Runtime(Settings())
    setup.configure(None, process="follower", settings=runtime.settings)
    live.load(runtime)
    subscription = runtime.backends.bus.subscribe(events.CHANGES_CHANNEL)
    last = levels(names)
    print(json.dumps({"ready": True, "levels": last}), flush=True)
    while True:
        event = subscription.get(timeout_s=0.05)
        if event is not None:
            follow(runtime, event)
        now = levels(names)
        if now != last:
            print(json.dumps({"levels": now}), flush=True)
            last = now


if __name__ == "__main__":
    main(sys.argv[1:])
