"""Where the dashboard's data comes from: a `Source` the screens read, over a `Backend`.

`BackendSource` adapts either backend (`agentos.client`): locally the service layer as the
configured local operator, with changes from the bus; remotely the SSOT endpoint and the
API, with changes from `/ws` (reconnecting with backoff). Screens only ever see a
`Source` (tests give them a fixed one). Every method may block: the app calls them from
thread workers.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentos.client import Backend, Snapshot, connect
from agentos.client.backend import EventCallback, StateCallback
from agentos.errors import AgentOSError, InvalidError, NotFoundError
from agentos.schemas.actions import ActionInfo, ActionResponse
from agentos.schemas.actions_config import ConfigHistoryResult
from agentos.schemas.actions_logs import EventList, LogSearchResult
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.actions_reads import EffectiveSetting
from agentos.schemas.actions_workers import WorkerStatsResult
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.schemas.common import Page
from agentos.schemas.figures import FiguresPart, LiveFigures
from agentos.schemas.jobs import JobDetail, JobRead, JobStatus
from agentos.schemas.system import BackupList, BreakerList, StorageCleanupResult, StorageUsage
from agentos.settings import Settings

__all__ = ["BackendSource", "ConfigView", "LocalSource", "RemoteSource", "Snapshot", "Source"]
DEFAULT_STALL_AFTER_S = 120.0
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ConfigView:
    summary: list[tuple[str, str]]
    runtime: list[RuntimeSettingRead]
    # Every setting in use with its source (default, environment, runtime) and whether
    # `config.set` may change it live.
    settings: list[EffectiveSetting] = field(default_factory=list)


class Source(ABC):
    """The data and actions a screen may use; `live` callbacks run on a background thread."""

    mode = "local"
    stall_after_s = DEFAULT_STALL_AFTER_S
    server: str | None = None  # the server a remote source talks to (for `agentos login`)

    @property
    @abstractmethod
    def label(self) -> str:
        """Which backend this source reads, for the header."""

    @abstractmethod
    def snapshot(self) -> Snapshot: ...

    @abstractmethod
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
        """One page of jobs, filtered and ordered on the server (`sort` a `JobSort` field,
        `order` asc or desc; newest first by default): the page after (or before) `cursor`
        (a page's `next_cursor`/`prev_cursor`) when given, else page number `page`."""

    def resolve_job(self, text: str) -> uuid.UUID:
        """The job a whole id or a unique prefix (4+ hex digits) stands for."""
        try:
            return uuid.UUID(text.strip())
        except ValueError:
            pass
        found = self.jobs(status=None, search=None, page=1, per_page=5, id_prefix=text.strip())
        if not found.data:
            raise NotFoundError(f"no job id starts with {text!r}", code="JOB_NOT_FOUND")
        if found.pagination.total > 1:
            raise InvalidError(f"several job ids start with {text!r}", code="AMBIGUOUS_ID")
        return found.data[0].id

    @abstractmethod
    def job(self, job_id: uuid.UUID) -> JobDetail: ...

    @abstractmethod
    def audit(
        self, *, query: str | None = None, trace_id: str | None = None, limit: int = 100
    ) -> list[AuditRecordRead]: ...

    @abstractmethod
    def catalog(self) -> list[ActionInfo]: ...

    @abstractmethod
    def run(self, action: str, payload: dict[str, Any] | None = None) -> ActionResponse: ...

    @abstractmethod
    def config(self) -> ConfigView:
        """The configuration in use (secrets masked) and the runtime settings table."""

    @abstractmethod
    def managers(self) -> ManagersView:
        """Users, API keys, the IP allow-list and lockouts (the Managers view)."""

    @abstractmethod
    def figures(
        self, parts: Sequence[FiguresPart], *, error_code: str | None = None
    ) -> LiveFigures:
        """Exact figures counted by the core over every row (failures by error code,
        retries waiting, steps per agent and hour); not audited, cheap to ask each refresh."""

    def config_history(self, key: str | None, *, limit: int = 50) -> ConfigHistoryResult:
        """Earlier values of one runtime setting (all of them when `key` is None)."""
        payload: dict[str, Any] = {"limit": limit} | ({"key": key} if key else {})
        return _answer(ConfigHistoryResult, self.run("config.history", payload))

    # Searched where they are stored (`standard` rate, audited): never on every refresh.
    def logs(self, payload: dict[str, Any]) -> LogSearchResult:
        """One page of log records (`logs.search`), newest first; `before` pages back."""
        return _answer(LogSearchResult, self.run("logs.search", payload))

    def events(self, payload: dict[str, Any]) -> EventList:
        """System events (`events.list`), newest first."""
        return _answer(EventList, self.run("events.list", payload))

    def worker_stats(self, worker: str | None = None) -> WorkerStatsResult:
        """What each worker (or one) says about itself (`worker.stats`)."""
        return _answer(
            WorkerStatsResult, self.run("worker.stats", {"worker": worker} if worker else {})
        )

    # The System view's reads: audited, `critical`-rate (5/min) actions; use them sparingly.
    def backups(self) -> BackupList:
        return _answer(BackupList, self.run("system.backup.list"))

    def breakers(self) -> BreakerList:
        return _answer(BreakerList, self.run("system.circuit.list"))

    def storage(self) -> StorageUsage:
        return _answer(StorageUsage, self.run("system.storage.usage"))

    def cleanup_preview(self, older_than_days: int) -> StorageCleanupResult:
        """What `system.storage.cleanup` would remove (its dry run: nothing changes)."""
        payload = {"older_than_days": older_than_days, "dry_run": True}
        return _answer(StorageCleanupResult, self.run("system.storage.cleanup", payload))

    @abstractmethod
    def start_live(self, on_event: EventCallback, on_state: StateCallback) -> None: ...

    @abstractmethod
    def stop_live(self) -> None:
        """Stop delivering live events (no-op when none were started)."""

    @abstractmethod
    def close(self) -> None: ...


def _answer(model: type[M], response: ActionResponse) -> M:
    """An action's result as its model; an answer this TUI cannot read is one error line."""
    try:
        return model.model_validate(response.result)
    except ValidationError as exc:
        raise AgentOSError(
            f"{response.action} answered in a form this TUI does not know "
            f"({exc.error_count()} problems); is the server another version?",
            code="UNEXPECTED_ANSWER",
        ) from None


class BackendSource(Source):
    def __init__(
        self,
        backend: Backend,
        *,
        stall_after_s: float = DEFAULT_STALL_AFTER_S,
        max_backoff_s: float = 8.0,
    ) -> None:
        self.backend = backend
        self.mode = "local" if backend.kind == "local" else "remote"
        self.stall_after_s = stall_after_s
        self.max_backoff_s = max_backoff_s
        self._stop_live: Callable[[], None] | None = None

    @property
    def label(self) -> str:
        return self.backend.label

    def snapshot(self) -> Snapshot:
        return self.backend.snapshot()

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
        return self.backend.list_jobs(
            status=[JobStatus(value) for value in status or []],
            search=search,
            page=page,
            per_page=per_page,
            id_prefix=id_prefix,
            sort=sort,
            order=order,
            cursor=cursor,
        )

    def resolve_job(self, text: str) -> uuid.UUID:
        return self.backend.resolve_job_id(text)

    def job(self, job_id: uuid.UUID) -> JobDetail:
        return self.backend.show_job(job_id)

    def audit(
        self, *, query: str | None = None, trace_id: str | None = None, limit: int = 100
    ) -> list[AuditRecordRead]:
        return self.backend.audit_search(query=query, trace_id=trace_id, limit=limit).records

    def catalog(self) -> list[ActionInfo]:
        return self.backend.catalog()

    def run(self, action: str, payload: dict[str, Any] | None = None) -> ActionResponse:
        return self.backend.run_action(action, payload)

    def config(self) -> ConfigView:
        config = self.backend.config()
        summary = [("deployment", config.deployment), ("backend", self.backend.label)]
        summary += [
            (item.name, "-" if item.value is None else str(item.value)) for item in config.effective
        ]
        return ConfigView(summary=summary, runtime=config.runtime, settings=config.effective)

    def managers(self) -> ManagersView:
        return self.backend.managers()

    def figures(
        self, parts: Sequence[FiguresPart], *, error_code: str | None = None
    ) -> LiveFigures:
        return self.backend.figures(parts=parts, error_code=error_code)

    def start_live(self, on_event: EventCallback, on_state: StateCallback) -> None:
        self.stop_live()
        self._stop_live = self.backend.subscribe(
            on_event=on_event, on_state=on_state, max_backoff_s=self.max_backoff_s
        )

    def stop_live(self) -> None:
        if self._stop_live is not None:
            self._stop_live()
            self._stop_live = None

    def close(self) -> None:
        self.stop_live()
        self.backend.close()


def LocalSource(settings: Settings | None = None) -> BackendSource:  # noqa: N802 (a factory)
    backend = connect(source="tui", settings=settings)
    stall = settings.stall_after_s if settings is not None else DEFAULT_STALL_AFTER_S
    return BackendSource(backend, stall_after_s=stall)


def RemoteSource(  # noqa: N802 (a factory)
    server: str, token: str | None, *, max_backoff_s: float = 8.0
) -> BackendSource:
    source = BackendSource(
        connect(server=server, token=token, source="tui"), max_backoff_s=max_backoff_s
    )
    source.server = server
    return source
