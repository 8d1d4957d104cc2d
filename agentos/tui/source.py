"""Where the dashboard's data comes from: one object per mode, the same interface.

`LocalSource` reads the service layer (through `agentos.client`) as the configured local
operator and hears changes on the bus; `RemoteSource` reads the SSOT endpoint and the
jobs API and hears changes on `/ws`, reconnecting with backoff. Screens only ever see a
`Source`. Every method may block: the app calls them from thread workers.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from agentos.client import actions, admin, live
from agentos.client import jobs as jobs_client
from agentos.client.admin import Snapshot
from agentos.client.connection import Connection
from agentos.schemas.actions import ActionInfo, ActionResponse
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.schemas.common import Page
from agentos.schemas.jobs import JobDetail, JobRead, JobStatus
from agentos.settings import Settings, get_settings

__all__ = ["LocalSource", "RemoteSource", "Snapshot", "Source"]


class Source(ABC):
    """The data and actions a screen may use; `live` callbacks run on a background thread."""

    mode = "local"
    stall_after_s = 120.0

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._stop_live: Callable[[], None] | None = None

    @property
    @abstractmethod
    def label(self) -> str:
        """Which backend this source reads, for the header."""

    def snapshot(self) -> Snapshot:
        return admin.snapshot(self.conn)

    def jobs(
        self, *, status: list[str] | None, search: str | None, page: int, per_page: int
    ) -> Page[JobRead]:
        return jobs_client.list_jobs(
            self.conn,
            status=[JobStatus(value) for value in status or []],
            search=search,
            page=page,
            per_page=per_page,
        )

    def job(self, job_id: uuid.UUID) -> JobDetail:
        return jobs_client.show_job(self.conn, job_id=job_id)

    def audit(self, *, query: str | None = None, limit: int = 100) -> list[AuditRecordRead]:
        return admin.audit_records(self.conn, query=query, limit=limit)

    def catalog(self) -> list[ActionInfo]:
        return actions.catalog(self.conn)

    def run(self, action: str, payload: dict[str, Any] | None = None) -> ActionResponse:
        return actions.run(self.conn, action, payload)

    def runtime_settings(self) -> list[RuntimeSettingRead]:
        return admin.runtime_settings(self.conn)

    def settings_summary(self) -> list[tuple[str, str]]:
        return admin.settings_summary(self.conn)

    def start_live(self, on_event: live.EventCallback, on_state: live.StateCallback) -> None:
        self.stop_live()
        self._stop_live = live.subscribe(self.conn, on_event=on_event, on_state=on_state)

    def stop_live(self) -> None:
        if self._stop_live is not None:
            self._stop_live()
            self._stop_live = None

    def close(self) -> None:
        self.stop_live()
        self.conn.close()


class LocalSource(Source):
    mode = "local"

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        super().__init__(Connection(settings=settings, source="tui"))
        self.stall_after_s = settings.stall_after_s

    @property
    def label(self) -> str:
        settings = self.conn.settings
        database = "SQLite" if settings.is_sqlite else "PostgreSQL"
        backends = "embedded" if settings.is_embedded else "Redis"
        return f"local · {database} + {backends}"


class RemoteSource(Source):
    mode = "remote"

    def __init__(self, server: str, token: str | None, *, max_backoff_s: float = 8.0) -> None:
        super().__init__(
            Connection(settings=get_settings(), server=server, token=token, source="tui")
        )
        self.max_backoff_s = max_backoff_s

    @property
    def label(self) -> str:
        return f"remote · {self.conn.server}"

    def start_live(self, on_event: live.EventCallback, on_state: live.StateCallback) -> None:
        self.stop_live()
        self._stop_live = live.subscribe(
            self.conn, on_event=on_event, on_state=on_state, max_backoff_s=self.max_backoff_s
        )
