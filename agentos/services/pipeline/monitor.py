"""`should_stop` and `on_progress` for a running stage, backed by the database.

The media functions call them as often as they like; at most every
`settings.cancel_check_interval_s` the monitor heartbeats the step (with its progress,
and the job's overall progress) and reads the job's `cancel_requested`, so a cancellation
stored in the database stops the stage at its next check even if the worker was offline
when it was made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import update

from agentos.db.models import Job
from agentos.schemas.work import ClaimedStep
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import claims
from agentos.services.runtime import Runtime

StopCheck = Callable[[], bool]


def never() -> bool:
    return False


class StageMonitor:
    """`should_stop` and `on_progress` for the media functions, backed by the database."""

    def __init__(
        self, runtime: Runtime, claimed: ClaimedStep, *, external_stop: StopCheck = never
    ) -> None:
        self._runtime = runtime
        self._claimed = claimed
        self._external_stop = external_stop
        self._interval = runtime.settings.cancel_check_interval_s
        self._lock = threading.Lock()
        # The claim has just written the first heartbeat; the next is due one interval on.
        self._next_check = time.monotonic() + self._interval
        self._progress = 0.0
        self.reason: str | None = None  # cancelled | lost | shutdown

    def on_progress(self, fraction: float) -> None:
        self._progress = max(0.0, min(1.0, fraction))
        self.should_stop()

    def should_stop(self) -> bool:
        if self.reason is None and self._external_stop():
            self.reason = "shutdown"
        if self.reason is not None:
            return True
        with self._lock:
            now = time.monotonic()
            if now >= self._next_check:
                self._next_check = now + self._interval
                self.check_now()
        return self.reason is not None

    def check_now(self) -> None:
        claimed = self._claimed
        with self._runtime.session(relaxed=True) as session:
            control = claims.heartbeat(
                session,
                step_id=claimed.step_id,
                worker_id=claimed.worker_id,
                progress=self._progress,
            )
            if control.owned:
                overall = (PIPELINE.index(claimed.agent) + self._progress) / len(PIPELINE)
                session.execute(
                    update(Job).where(Job.id == claimed.job_id).values(progress=overall),
                    execution_options={"synchronize_session": False},
                )
        if control.cancel_requested:
            self.reason = "cancelled"
        elif not control.owned:
            self.reason = "lost"
