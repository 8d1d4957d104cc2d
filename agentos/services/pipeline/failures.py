"""Why a stage failed, decided in one place: a stable code, one readable line, retry or not.

Whatever a stage raises (agentos.media's `InvalidError`s, the stage functions' own checks,
a pydantic model rejecting stored data, the file system, the database, a bug) becomes a
`Failure` here and nowhere else. Its `message` is what the job's and the step's `error`
hold: one line an operator can act on, never a traceback, never a validation dump. The
traceback goes to this module's logger (`log`), with the job and the step it belongs to,
under the trace id of the request behind the job (the message of an unexpected failure
names the step, so the log line is one search away).

Retry policy: an input the pipeline cannot process (invalid or missing media, bad stored
data, a refused parameter) fails the job at once, since a retry would meet the same input;
a fault that may pass (storage, database, a timeout, an unexpected error) is retried up to
the job's `max_attempts`, each attempt queued `retry_delay_s` later than the last failed.
"""

from __future__ import annotations

import errno
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import av
from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError

from agentos.errors import AgentOSError, InvalidError, NotFoundError
from agentos.services import outages

logger = logging.getLogger("agentos.services.pipeline")

MAX_MESSAGE_CHARS = 300
# Backoff between attempts of a stage: base * 4^(n-1), capped, +-20 % so a burst of jobs
# failing together (a storage or database outage) does not come back all at once.
RETRY_BASE_S = 5.0
RETRY_MAX_S = 300.0
RETRY_JITTER = 0.2
# How long a runner keeps trying to record a failure while the database is unavailable
# (`recorded`): a step left `running` on a live worker is otherwise only repaired after a
# server restart is noticed, and never after an outage without one.
RECORD_PATIENCE_S = 120.0
RECORD_PAUSE_MAX_S = 5.0


@dataclass(frozen=True)
class Failure:
    code: str
    message: str  # one line, for the job and step `error`
    retryable: bool
    expected: bool  # a refused input, logged without a traceback (the message says it all)


def one_line(text: str, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` as one line of at most `limit` characters (whitespace runs collapsed)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def classify(exc: BaseException, *, step_id: uuid.UUID | None = None) -> Failure:
    """The failure a stage's exception stands for (see the module docstring)."""
    if isinstance(exc, AgentOSError):
        return _known(exc)
    if isinstance(exc, ValidationError):
        return Failure("INVALID_STAGE_DATA", _validation_line(exc), False, False)
    if isinstance(exc, FileNotFoundError):
        what = exc.filename or exc.strerror or "a file the stage needs"
        return Failure("FILE_MISSING", one_line(f"file not found: {what}"), False, False)
    if isinstance(exc, PermissionError):
        what = exc.filename or "a file the stage needs"
        return Failure("PERMISSION_DENIED", one_line(f"permission denied: {what}"), False, False)
    if isinstance(exc, TimeoutError):
        return Failure("STAGE_TIMEOUT", one_line(f"timed out: {_detail(exc)}"), True, False)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return Failure("STORAGE_FULL", "no space left on the storage device", True, False)
    if isinstance(exc, OperationalError | InterfaceError):
        return Failure("DATABASE_UNAVAILABLE", "the database could not be reached", True, False)
    if isinstance(exc, av.FFmpegError):
        return Failure("MEDIA_ERROR", one_line(f"FFmpeg failed: {_detail(exc)}"), True, False)
    if isinstance(exc, OSError):
        return Failure("STORAGE_ERROR", one_line(f"storage error: {_detail(exc)}"), True, False)
    if isinstance(exc, MemoryError):
        return Failure("OUT_OF_MEMORY", "the stage ran out of memory", True, False)
    where = f"; details in the worker log under step {step_id}" if step_id else ""
    message = one_line(f"internal error ({type(exc).__name__}: {_detail(exc)}){where}")
    return Failure("INTERNAL", message, retryable=True, expected=False)


def _known(exc: AgentOSError) -> Failure:
    # Invalid input, something missing, a conflict: the same again next time. Only an
    # unavailable dependency, a rate limit or an internal error may pass.
    permanent = isinstance(exc, InvalidError | NotFoundError) or exc.kind == "conflict"
    return Failure(exc.code, one_line(exc.message or exc.code), not permanent, permanent)


def _detail(exc: BaseException) -> str:
    """The first line of an exception's text (its type when it has none), kept short."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return one_line(first, limit=160)


def _validation_line(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "value"
    more = exc.error_count() - 1
    tail = f" (and {more} more)" if more else ""
    return one_line(f"stored {exc.title} data is invalid: {where}: {first.get('msg')}{tail}")


def retry_delay_s(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1`, after attempt `attempt` failed."""
    base = min(RETRY_MAX_S, RETRY_BASE_S * 4 ** max(0, attempt - 1))
    jitter = (rng or random).uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return round(base * jitter, 3)


def recorded(
    record: Callable[[], str],
    *,
    patience_s: float = RECORD_PATIENCE_S,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """`record()` (a failure's bookkeeping), tried again while the database is unavailable,
    for up to `patience_s`; any other error, or the outage outlasting it, is raised."""
    deadline = time.monotonic() + patience_s
    pause = 0.25
    while True:
        try:
            return record()
        except Exception as exc:
            if outages.as_unavailable(exc) is None or time.monotonic() + pause > deadline:
                raise
            logger.warning("could not record a stage failure (%s); trying again", _detail(exc))
        sleep(pause)
        pause = min(pause * 2, RECORD_PAUSE_MAX_S)


def log(
    failure: Failure,
    exc: BaseException,
    *,
    agent: str,
    job_id: uuid.UUID,
    step_id: uuid.UUID,
    attempt: int,
    outcome: str,
) -> None:
    """One log record per failed stage run; the traceback with it when it was a fault."""
    logger.log(
        logging.WARNING if failure.expected else logging.ERROR,
        "%s stage of job %s failed (step %s, attempt %d, %s): [%s] %s",
        agent,
        job_id,
        step_id,
        attempt,
        outcome,
        failure.code,
        failure.message,
        exc_info=None if failure.expected else exc,
        extra={
            "job_id": str(job_id),
            "step_id": str(step_id),
            "agent": agent,
            "error_code": failure.code,
        },
    )
