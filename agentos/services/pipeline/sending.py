"""Which queued steps need a Celery message, and proof that one was sent.

A step's message id is reserved in a commit (`task_id`, `task_reserved_at`) and the
message is sent after it. A sender that dies between the two would leave the step queued
forever with no message. So each process records the ids it really sent in a
`SentLedger`, which confirms them (`task_sent_at`) in one batched UPDATE about once a
second, off the sending path; a reservation still unconfirmed `celery_send_grace_s` after
it was made is taken again by the next sweep and sent again. A duplicate message is
harmless: only a queued step can be claimed.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from agentos.db.models import ProcessingStep
from agentos.schemas.work import QueuedStep
from agentos.services.pipeline.claims import due, now, relaxed_commit
from agentos.services.runtime import Runtime, settings_of

logger = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 1.0


def _needs_message(cutoff: datetime) -> ColumnElement[bool]:
    """No message reserved, or one reserved before `cutoff` and never confirmed sent."""
    return or_(
        ProcessingStep.task_id.is_(None),
        and_(ProcessingStep.task_sent_at.is_(None), ProcessingStep.task_reserved_at < cutoff),
    )


def _cutoff(session: Session) -> datetime:
    return now() - timedelta(seconds=settings_of(session).celery_send_grace_s)


def queued_unsent(session: Session, *, agents: set[str], limit: int = 200) -> list[QueuedStep]:
    """Due queued steps that need a Celery message (dispatch order)."""
    rows = session.execute(
        select(
            ProcessingStep.id.label("step_id"),
            ProcessingStep.job_id,
            ProcessingStep.agent,
            ProcessingStep.priority,
            ProcessingStep.trace_id,
        )
        .where(
            ProcessingStep.status == "queued",
            ProcessingStep.agent.in_(sorted(agents)),
            _needs_message(_cutoff(session)),
            due(),
        )
        .order_by(ProcessingStep.priority.desc(), ProcessingStep.created_at.asc())
        .limit(limit),
        {"p_now": now()},
    )
    return [QueuedStep.model_validate(dict(row._mapping)) for row in rows]


def mark_sent(session: Session, *, step_id: uuid.UUID, task_id: str) -> bool:
    """Reserve the right to send the one message for a step (False: someone else did)."""
    relaxed_commit(session)
    result = session.execute(
        update(ProcessingStep)
        .where(
            ProcessingStep.id == step_id,
            ProcessingStep.status == "queued",
            _needs_message(_cutoff(session)),
        )
        .values(task_id=task_id, task_reserved_at=now(), task_sent_at=None),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_sent(session: Session, *, step_id: uuid.UUID) -> None:
    """Forget a step's message (it arrived while the agent could not run it): send again later."""
    session.execute(
        update(ProcessingStep)
        .where(ProcessingStep.id == step_id, ProcessingStep.status == "queued")
        .values(task_id=None, task_reserved_at=None, task_sent_at=None),
        execution_options={"synchronize_session": False},
    )


def confirm_sent(session: Session, task_ids: list[str]) -> int:
    """Record that these messages left this process (only the current reservation counts)."""
    if not task_ids:
        return 0
    relaxed_commit(session)
    result = session.execute(
        update(ProcessingStep)
        .where(ProcessingStep.task_id.in_(task_ids), ProcessingStep.task_sent_at.is_(None))
        .values(task_sent_at=now()),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class SentLedger:
    """The message ids this process sent, confirmed in batches by a daemon thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, task_id: str) -> None:
        with self._lock:
            self._pending.append(task_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sent-ledger", daemon=True)
                self._thread.start()

    def flush(self) -> int:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            with self.runtime.session(relaxed=True) as session:
                return confirm_sent(session, batch)
        except Exception:
            # Unconfirmed messages are sent again after the grace period; nothing is lost.
            logger.warning("could not confirm %d sent message(s)", len(batch), exc_info=True)
            return 0

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Confirm what is pending (the runtime closes its engines next)."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self.flush()


def ledger_of(runtime: Runtime) -> SentLedger:
    return runtime.component(SentLedger, lambda: SentLedger(runtime))
