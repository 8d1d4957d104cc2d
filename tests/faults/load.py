"""A light, steady mixed load on one or more servers, every answer recorded.

One thread per kind of caller, each at its own pace: a user reading the job list and
recent clips, an operator reading the SSOT, an operator running `events.emit` (an action
with an effect one can count: one event row carrying the message, and one audit record
carrying the request's trace id), and a health probe. Transport errors (a server that is
not there) are recorded as status 0.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

ACTION = "events.emit"


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic() when the answer arrived
    kind: str  # user | ssot | action | health
    status: int  # 0: no answer (transport error)
    code: str | None = None  # error_code of an error answer
    cache: str | None = None  # X-Cache of an SSOT answer
    trace_id: str | None = None
    message: str | None = None  # the events.emit message of an action
    elapsed_s: float = 0.0


@dataclass
class MixedLoad:
    bases: list[str]
    user_token: str
    admin_token: str
    pace_s: float = 0.05
    kinds: tuple[str, ...] = ("user", "ssot", "action", "health")
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _paused: set[str] = field(default_factory=set)

    def start(self) -> MixedLoad:
        for kind in self.kinds:
            thread = threading.Thread(target=self._run, args=(kind,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def pause(self, *kinds: str) -> None:
        self._paused.update(kinds)

    def resume(self, *kinds: str) -> None:
        self._paused.difference_update(kinds)

    def __enter__(self) -> MixedLoad:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- reading the record --------------------------------------------------------------

    def between(
        self, start: float, end: float | None = None, kind: str | None = None
    ) -> list[Sample]:
        with self._lock:
            found = list(self.samples)
        return [
            s
            for s in found
            if s.at >= start and (end is None or s.at < end) and (kind is None or s.kind == kind)
        ]

    def first_after(self, start: float, kind: str, ok: Callable[[Sample], bool]) -> Sample | None:
        return next((s for s in self.between(start, kind=kind) if ok(s)), None)

    def wait_until(
        self, start: float, kind: str, ok: Callable[[Sample], bool], *, timeout_s: float
    ) -> Sample:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.first_after(start, kind, ok)
            if found is not None:
                return found
            time.sleep(0.02)
        raise AssertionError(
            f"no {kind} answer matching within {timeout_s}s; "
            f"last: {self.between(start, kind=kind)[-5:]}"
        )

    # --- the callers ---------------------------------------------------------------------

    def _run(self, kind: str) -> None:
        bases = itertools.cycle(self.bases)
        with httpx.Client(timeout=15.0) as client:
            while not self._stop.is_set():
                if kind in self._paused:
                    time.sleep(self.pace_s)
                    continue
                sample = self._one(client, next(bases), kind)
                with self._lock:
                    self.samples.append(sample)
                self._stop.wait(self.pace_s)

    def _one(self, client: httpx.Client, base: str, kind: str) -> Sample:
        trace_id = uuid.uuid4().hex
        headers = {"X-Trace-Id": trace_id}
        message = None
        started = time.monotonic()
        try:
            if kind == "user":
                headers["Authorization"] = f"Bearer {self.user_token}"
                response = client.get(f"{base}/api/jobs/history?per_page=5", headers=headers)
                if response.status_code == 200:
                    response = client.get(f"{base}/api/clips/recent?limit=5", headers=headers)
            elif kind == "ssot":
                headers["Authorization"] = f"Bearer {self.admin_token}"
                response = client.get(f"{base}/api/admin/ssot", headers=headers)
            elif kind == "action":
                headers["Authorization"] = f"Bearer {self.admin_token}"
                message = f"fault-load {trace_id}"
                body = {"action": ACTION, "payload": {"message": message}}
                response = client.post(f"{base}/api/admin/action", json=body, headers=headers)
            else:
                response = client.get(f"{base}/health", headers=headers)
        except httpx.TransportError:
            return Sample(time.monotonic(), kind, 0, trace_id=trace_id, message=message)
        code = None
        if response.status_code >= 400:
            try:
                code = response.json().get("error_code")
            except ValueError:
                code = None
        return Sample(
            at=time.monotonic(),
            kind=kind,
            status=response.status_code,
            code=code,
            cache=response.headers.get("X-Cache"),
            trace_id=trace_id,
            message=message,
            elapsed_s=time.monotonic() - started,
        )


def statuses(samples: Iterable[Sample]) -> dict[tuple[str, int, str | None], int]:
    """(kind, status, code) -> how many: the summary a failed assertion prints."""
    counts: dict[tuple[str, int, str | None], int] = {}
    for sample in samples:
        key = (sample.kind, sample.status, sample.code)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (item[0][0], item[0][1])))
