"""Remote control of workers: one contract, two transports.

- Distributed: Celery's own remote control (`agentos.tasks.remote_control`), registered
  at the boundary (`use`) by the processes that can reach the broker;
- embedded: `BusWorkerControl`, a request/reply over the bus, answered by every embedded
  runner on the same home (`embedded_control.ControlResponder`), in this process or in
  another one (the server's pools answer a local `agentos action worker.ping`).

Both broadcast with a reply timeout: a worker that does not answer is reported missing,
never waited for.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from agentos.errors import UnavailableError
from agentos.schemas.actions_workers import WorkerReply
from agentos.services.runtime import Runtime

REQUEST_CHANNEL = "worker.control"
REPLY_CHANNEL = "worker.control.reply"


class WorkerControl(Protocol):
    """Every call answers per worker; `workers=None` broadcasts to all."""

    kind: str  # the `workers.kind` of the workers it reaches

    # `expect`: a broadcast stops waiting once that many workers answered.
    def ping(
        self, workers: list[str] | None, *, timeout_s: float, expect: int | None = None
    ) -> list[WorkerReply]: ...

    # Each reply's `result` is the `WorkerStats` fields of that worker.
    def stats(
        self, workers: list[str] | None, *, timeout_s: float, expect: int | None = None
    ) -> list[WorkerReply]: ...

    # `result`: {"before": int, "after": int, "autoscale": [min, max] | None}.
    def resize(self, worker: str, delta: int, *, timeout_s: float) -> list[WorkerReply]: ...

    def autoscale(
        self, worker: str, low: int, high: int, *, timeout_s: float
    ) -> list[WorkerReply]: ...

    def shutdown(self, worker: str, *, timeout_s: float) -> list[WorkerReply]: ...

    def revoke(self, task_id: str, *, terminate: bool) -> None: ...


ControlFactory = Callable[[Runtime], WorkerControl]


class _Choice:
    """The worker control of one runtime: chosen at the boundary, built on first use."""

    def __init__(self) -> None:
        self.factory: ControlFactory | None = None
        self.control: WorkerControl | None = None


def use(runtime: Runtime, factory: ControlFactory) -> None:
    """Make `factory` build this runtime's worker control (the boundary picks Celery's)."""
    choice = runtime.component(_Choice, _Choice)
    choice.factory, choice.control = factory, None


def control_of(runtime: Runtime) -> WorkerControl:
    choice = runtime.component(_Choice, _Choice)
    if choice.control is None:
        if choice.factory is not None:
            choice.control = choice.factory(runtime)
        elif runtime.settings.is_embedded:
            choice.control = BusWorkerControl(runtime)
        else:
            raise UnavailableError(
                "this process cannot reach the Celery workers' remote control",
                code="WORKER_CONTROL_UNAVAILABLE",
            )
    return choice.control


class BusWorkerControl:
    """Requests on `REQUEST_CHANNEL`, replies on `REPLY_CHANNEL`, matched by request id."""

    kind = "embedded"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def request(
        self,
        command: str,
        *,
        workers: list[str] | None,
        args: dict[str, Any] | None = None,
        timeout_s: float,
        expect: int | None = None,
    ) -> list[WorkerReply]:
        """Publish one request and gather replies until every named worker answered or
        the timeout passed (a broadcast waits the whole timeout: anyone may answer)."""
        bus = self.runtime.backends.bus
        request_id = uuid.uuid4().hex
        subscription = bus.subscribe(REPLY_CHANNEL)
        replies: dict[str, WorkerReply] = {}
        started = time.monotonic()
        try:
            bus.publish(
                REQUEST_CHANNEL,
                {
                    "request_id": request_id,
                    "command": command,
                    "workers": workers,
                    "args": args or {},
                },
            )
            deadline = started + timeout_s
            while (remaining := deadline - time.monotonic()) > 0:
                if workers is not None and set(workers) <= set(replies):
                    break
                if workers is None and expect is not None and len(replies) >= expect:
                    break
                event = subscription.get(timeout_s=min(remaining, 0.1))
                if event is None or event.payload.get("request_id") != request_id:
                    continue
                name = str(event.payload.get("worker"))
                replies[name] = WorkerReply(
                    worker=name,
                    ok=bool(event.payload.get("ok")),
                    error=event.payload.get("error"),
                    result=event.payload.get("result") or {},
                    latency_ms=round((time.monotonic() - started) * 1000, 2),
                )
        finally:
            subscription.close()
        return sorted(replies.values(), key=lambda reply: reply.worker)

    def ping(
        self, workers: list[str] | None, *, timeout_s: float, expect: int | None = None
    ) -> list[WorkerReply]:
        return self.request("ping", workers=workers, timeout_s=timeout_s, expect=expect)

    def stats(
        self, workers: list[str] | None, *, timeout_s: float, expect: int | None = None
    ) -> list[WorkerReply]:
        return self.request("stats", workers=workers, timeout_s=timeout_s, expect=expect)

    def resize(self, worker: str, delta: int, *, timeout_s: float) -> list[WorkerReply]:
        return self.request("resize", workers=[worker], args={"delta": delta}, timeout_s=timeout_s)

    def autoscale(self, worker: str, low: int, high: int, *, timeout_s: float) -> list[WorkerReply]:
        args = {"min": low, "max": high}
        return self.request("autoscale", workers=[worker], args=args, timeout_s=timeout_s)

    def shutdown(self, worker: str, *, timeout_s: float) -> list[WorkerReply]:
        return self.request("shutdown", workers=[worker], timeout_s=timeout_s)

    def revoke(self, task_id: str, *, terminate: bool) -> None:
        """Nothing to send: an embedded stage is revoked by its job's cancellation, which
        a running one sees at its next heartbeat."""
