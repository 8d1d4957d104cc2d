"""Whether the backend still takes this front end's credentials.

A remote backend answers an expired, revoked or refused login with `UnauthenticatedError`
(SESSION_EXPIRED when the client could not renew its session, TOKEN_EXPIRED,
TOKEN_REVOKED, USER_DISABLED, AUTH_REQUIRED) or, for a login made with a one-time
password, PASSWORD_CHANGE_REQUIRED. `WatchedSource` wraps the app's `Source` and reports
the first such refusal and the next call that succeeds, so the header can say so loudly
while the views keep what they last showed.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from agentos.client.backend import EventCallback, StateCallback
from agentos.errors import AgentOSError, UnauthenticatedError
from agentos.schemas.actions import ActionInfo, ActionResponse
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.common import Page
from agentos.schemas.figures import FiguresPart, LiveFigures
from agentos.schemas.jobs import JobDetail, JobRead
from agentos.tui.source import ConfigView, Snapshot, Source

T = TypeVar("T")
PASSWORD_CHANGE = "PASSWORD_CHANGE_REQUIRED"
# What the header says for each refusal; {login} is how to log in again.
MESSAGES = {
    "SESSION_EXPIRED": "SESSION EXPIRED: {login}",
    "TOKEN_EXPIRED": "TOKEN EXPIRED: {login}",
    "TOKEN_REVOKED": "SESSION REVOKED: {login}",
    "TOKEN_INVALID": "TOKEN INVALID: {login}",
    "USER_DISABLED": "ACCOUNT DISABLED: ask an admin to enable it",
    "AUTH_REQUIRED": "NOT LOGGED IN: {login}",
    PASSWORD_CHANGE: "PASSWORD CHANGE REQUIRED: agentos users passwd, then {login}",
}
FALLBACK = "NOT AUTHENTICATED ({code}): {login}"
SessionListener = Callable[[str | None], None]


def session_problem(error: AgentOSError, server: str | None) -> str | None:
    """The header's words for a refused login, or None when `error` is something else."""
    if not isinstance(error, UnauthenticatedError) and error.code != PASSWORD_CHANGE:
        return None
    login = f"run agentos login --server {server}" if server else "log in again"
    return MESSAGES.get(error.code, FALLBACK).format(login=login, code=error.code)


class WatchedSource(Source):
    """`source` with every read and action watched: `listener(message)` runs (on the calling
    thread) when the session is refused, and `listener(None)` when a call succeeds again."""

    def __init__(self, source: Source, listener: SessionListener) -> None:
        self.inner = source
        self.listener = listener
        self.mode = source.mode
        self.stall_after_s = source.stall_after_s
        self.server = source.server
        self.problem: str | None = None
        self._lock = threading.Lock()

    def _call(self, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            answer = read(*args, **kwargs)
        except AgentOSError as exc:
            problem = session_problem(exc, self.server)
            if problem is not None:
                self._report(problem)
            raise
        self._report(None)
        return answer

    def _report(self, problem: str | None) -> None:
        with self._lock:
            changed, self.problem = problem != self.problem, problem
        if changed:
            self.listener(problem)

    @property
    def label(self) -> str:
        return self.inner.label

    def snapshot(self) -> Snapshot:
        return self._call(self.inner.snapshot)

    def jobs(
        self,
        *,
        status: list[str] | None,
        search: str | None,
        page: int,
        per_page: int,
        sort: str | None = None,
        order: str | None = None,
        id_prefix: str | None = None,
        cursor: str | None = None,
    ) -> Page[JobRead]:
        return self._call(
            self.inner.jobs,
            status=status,
            search=search,
            page=page,
            per_page=per_page,
            sort=sort,
            order=order,
            id_prefix=id_prefix,
            cursor=cursor,
        )

    def resolve_job(self, text: str) -> uuid.UUID:
        return self._call(self.inner.resolve_job, text)

    def job(self, job_id: uuid.UUID) -> JobDetail:
        return self._call(self.inner.job, job_id)

    def audit(
        self, *, query: str | None = None, trace_id: str | None = None, limit: int = 100
    ) -> list[AuditRecordRead]:
        return self._call(self.inner.audit, query=query, trace_id=trace_id, limit=limit)

    def catalog(self) -> list[ActionInfo]:
        return self._call(self.inner.catalog)

    def run(self, action: str, payload: dict[str, Any] | None = None) -> ActionResponse:
        return self._call(self.inner.run, action, payload)

    def config(self) -> ConfigView:
        return self._call(self.inner.config)

    def managers(self) -> ManagersView:
        return self._call(self.inner.managers)

    def figures(
        self, parts: Sequence[FiguresPart], *, error_code: str | None = None
    ) -> LiveFigures:
        return self._call(self.inner.figures, parts, error_code=error_code)

    def start_live(self, on_event: EventCallback, on_state: StateCallback) -> None:
        self.inner.start_live(on_event, on_state)

    def stop_live(self) -> None:
        self.inner.stop_live()

    def close(self) -> None:
        self.inner.close()
