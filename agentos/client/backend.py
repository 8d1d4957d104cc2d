"""The one door for front ends: the `Backend` protocol.

The CLI and the TUI take a `Backend` and never know which one: `LocalBackend` calls the
service layer on this machine's home or database (as the configured local operator),
`HttpBackend` calls a server's API with a token. Both answer with the same schemas and
raise the same `AgentOSError` subclasses, and `tests/client/test_backend_contract.py`
runs every method on both against the same seeded data.

Reads of the admin views that have an action (`audit.search`, `config.get`) go through
the action pipeline on both, so they are authorized and audited the same way.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.actions import ActionInfo, ActionResponse, ActionStatusRead
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.actions_reads import AuditSearchResult, ConfigGetResult
from agentos.schemas.admin import AdminDocument, CacheMeta
from agentos.schemas.auth import AccessToken, TokenPair
from agentos.schemas.common import Page
from agentos.schemas.db import MigrationResult, SchemaReport
from agentos.schemas.figures import FiguresPart, LiveFigures
from agentos.schemas.jobs import JobDetail, JobRead, JobStatus
from agentos.schemas.queue import QueueStatus
from agentos.schemas.seed import SeedOptions, SeedProgress, SeedResult
from agentos.schemas.uploads import (
    ChunkReceipt,
    UploadFinalize,
    UploadFinalized,
    UploadInit,
    UploadRead,
    UploadStatusRead,
)
from agentos.schemas.users import UserCreated, UserRead

EventCallback = Callable[[dict[str, Any]], None]
StateCallback = Callable[[str, str], None]
Source = Literal["cli", "tui"]
# A stored login's state (HttpBackend without --token): "active", "expired" (the server
# refused to renew it: log in again) or "none" (no login stored for the server).
SessionState = Literal["none", "active", "expired"]


@dataclass(frozen=True)
class Snapshot:
    """The admin document and what the cache said about it."""

    document: AdminDocument
    cache: CacheMeta


class ChangeWaiter(Protocol):
    def wait(self, timeout_s: float) -> None:
        """Return at the next change, or after `timeout_s`."""


class Backend(ABC):
    """Every call a front end makes; the two implementations differ only in transport."""

    kind: Literal["local", "http"]

    @property
    @abstractmethod
    def label(self) -> str:
        """Where the calls go, for headers and messages."""

    # Jobs, queue, uploads --------------------------------------------------------------
    @abstractmethod
    def list_jobs(
        self,
        *,
        status: list[JobStatus] | None = None,
        search: str | None = None,
        page: int = 1,
        per_page: int = 20,
        id_prefix: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        cursor: str | None = None,
    ) -> Page[JobRead]:
        """Jobs newest first, optionally only those in `status` (or whose id starts with
        `id_prefix`); `sort` (a `JobSort` field) and `order` (asc, desc) order them on the
        server, across pages. `cursor` (a page's `pagination.next_cursor` or `prev_cursor`,
        same filters and order) reads the page after or before it, at any depth, instead
        of page number `page`."""

    @abstractmethod
    def show_job(self, job_id: uuid.UUID) -> JobDetail:
        """One job with its processing steps and clips."""

    def resolve_job_id(self, text: str) -> uuid.UUID:
        """The one job whose id is `text` or starts with it (a short id, 4+ hex digits):
        INVALID_ID, JOB_NOT_FOUND, or AMBIGUOUS_ID listing the matches."""
        try:
            return uuid.UUID(text.strip())
        except ValueError:
            pass
        prefix = text.strip().lower()
        digits = prefix.replace("-", "")
        if len(digits) < 4 or not all(char in "0123456789abcdef" for char in digits):
            raise InvalidError(
                f"{text!r} is not a job id or a prefix of one (at least 4 hex digits)",
                code="INVALID_ID",
            )
        found = self.list_jobs(id_prefix=prefix, per_page=5)
        matches = [str(job.id) for job in found.data]
        if not matches:
            raise NotFoundError(f"no job id starts with {text!r}", code="JOB_NOT_FOUND")
        if found.pagination.total > 1:
            more = ", ..." if found.pagination.total > len(matches) else ""
            raise InvalidError(
                f"{text!r} is the start of several job ids ({', '.join(matches)}{more}); "
                "type more of it",
                code="AMBIGUOUS_ID",
                details={"matches": matches},
            )
        return found.data[0].id

    def unserved_agents(self) -> list[str]:
        """Pipeline agents that no online worker consumes: work queued for them waits
        until a worker starts (from the admin document; `LocalBackend` asks the workers
        table directly)."""
        section = self.snapshot().document.agents_workers
        served = {agent for worker in section.workers if worker.online for agent in worker.agents}
        return [agent.name for agent in section.agents if agent.name not in served]

    def in_process_runner(self, agents: list[str]) -> AbstractContextManager[object] | None:
        """Run `agents`' queued work in this process while the context is open, or None
        where that cannot be done (remote, or work that goes to Celery)."""
        return None

    @abstractmethod
    def queue_status(self) -> QueueStatus: ...

    @abstractmethod
    def init_upload(self, request: UploadInit) -> UploadRead: ...

    @abstractmethod
    def put_chunk(
        self, upload_id: uuid.UUID, index: int, data: bytes, sha256: str
    ) -> ChunkReceipt: ...

    @abstractmethod
    def upload_status(self, upload_id: uuid.UUID) -> UploadStatusRead: ...

    @abstractmethod
    def finalize_upload(self, request: UploadFinalize) -> UploadFinalized: ...

    # Admin views and actions --------------------------------------------------------------
    @abstractmethod
    def snapshot(self) -> Snapshot:
        """The SSOT document, cache-first."""

    @abstractmethod
    def run_action(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> ActionResponse:
        """Run one admin action through the pipeline; errors come back as AgentOSError."""

    @abstractmethod
    def catalog(self) -> list[ActionInfo]: ...

    @abstractmethod
    def action_status(self, *, recent: int = 20, window_hours: int = 24) -> ActionStatusRead: ...

    @abstractmethod
    def figures(
        self, *, parts: Sequence[FiguresPart], error_code: str | None = None
    ) -> LiveFigures:
        """Exact figures counted over every row (`GET /api/admin/ssot/figures`): failed
        jobs by error code (with `error_code`, '' for none, that code's newest jobs),
        retries waiting, steps per agent and hour over the last 24 h."""

    def describe(self, name: str) -> ActionInfo | None:
        return next((item for item in self.catalog() if item.name == name), None)

    def audit_search(self, **filters: Any) -> AuditSearchResult:
        """The whole audit trail, searched where it is stored (`audit.search`)."""
        payload = {key: value for key, value in filters.items() if value is not None}
        return AuditSearchResult.model_validate(self.run_action("audit.search", payload).result)

    def config(self, key: str | None = None) -> ConfigGetResult:
        """The configuration in use and the runtime settings (`config.get`)."""
        payload = {"key": key} if key else {}
        return ConfigGetResult.model_validate(self.run_action("config.get", payload).result)

    # Accounts ------------------------------------------------------------------------------
    @abstractmethod
    def managers(self) -> ManagersView:
        """Users, API keys, the IP allow-list and lockouts (the Managers view)."""

    @abstractmethod
    def change_password(self, *, current: str, new: str) -> TokenPair:
        """The logged-in user's own password (remote only: a local front end has no user)."""

    def require_user_session(self) -> None:
        """Refuse (REMOTE_ONLY) before asking for passwords where no user is logged in."""
        return None

    def session_state(self) -> SessionState | None:
        """The stored login's state; None when none is used (local, or a given token)."""
        return None

    def resolve_user(self, ref: str) -> UserRead:
        """A user by id or username, from the Managers view (USER_NOT_FOUND if neither)."""
        wanted = ref.strip()
        try:
            user_id: uuid.UUID | None = uuid.UUID(wanted)
        except ValueError:
            user_id = None
        for user in self.managers().users:
            if user.id == user_id or user.username == wanted.lower():
                return user
        raise NotFoundError(f"no user {ref!r} (a username or an id)", code="USER_NOT_FOUND")

    # Accounts and the database ---------------------------------------------------------------
    @abstractmethod
    def create_user(
        self, *, username: str, role: str, password: str | None = None, email: str | None = None
    ) -> UserCreated: ...

    @abstractmethod
    def list_users(self, *, page: int = 1, per_page: int = 100) -> Page[UserRead]: ...

    @abstractmethod
    def mint_token(self, *, username: str, ttl_s: int | None = None) -> AccessToken: ...

    @abstractmethod
    def migrate(self) -> MigrationResult: ...

    @abstractmethod
    def check_schema(self) -> SchemaReport: ...

    @abstractmethod
    def database_is_empty(self) -> bool: ...

    @abstractmethod
    def reset_and_seed(
        self, *, options: SeedOptions, progress: SeedProgress | None = None
    ) -> SeedResult: ...

    # Live -----------------------------------------------------------------------------------
    @abstractmethod
    def subscribe(
        self, *, on_event: EventCallback, on_state: StateCallback, max_backoff_s: float = 8.0
    ) -> Callable[[], None]:
        """Deliver change events until the returned callable is called."""

    @abstractmethod
    def changes(self) -> AbstractContextManager[ChangeWaiter]:
        """Wait for changes: woken by the bus locally, a plain pause remotely."""

    @abstractmethod
    def close(self) -> None: ...


def local_only(what: str, hint: str = "") -> InvalidError:
    return InvalidError(
        f"{what} works only locally (no HTTP endpoint): run it without --server on the "
        f"server's host{hint}",
        code="LOCAL_ONLY",
    )
