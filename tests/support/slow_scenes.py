"""Scene analysis held to a known pace, for tests that act while that stage runs.

Cancelling a running stage or killing its worker mid-stage needs the stage to still be
running when the test acts; on a fast, idle machine a small test video is analysed in a
fraction of a second. With `slowed` in place of `agentos.media.scenes.frame_score` (the
`slow_scenes` fixture does it in the test process) every analysed frame takes at least
FRAME_DELAY_S longer; a Celery worker gets the same by being started with `command()`,
the `agentos` command with the slowed analysis.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FRAME_DELAY_S = 0.003
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def slowed(original: Callable[..., float]) -> Callable[..., float]:
    def frame_score(prev: Any, cur: Any) -> float:
        time.sleep(FRAME_DELAY_S)
        return original(prev, cur)

    return frame_score


def command(env: dict[str, str]) -> list[str]:
    """`agentos` with slowed scene analysis; puts the project on `env`'s PYTHONPATH."""
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "tests.support.slow_scenes"]


if __name__ == "__main__":
    from agentos.cli.main import run
    from agentos.media import scenes

    scenes.frame_score = slowed(scenes.frame_score)  # type: ignore[assignment]
    sys.argv[0] = "agentos"
    run()
