"""`LocalBackend`: the service layer on this machine's home or database.

Every call is one unit of work on the backend's runtime, as the configured local operator
(role admin, source cli or tui; the OS user who ran it is in the audit's user agent).
"""

from __future__ import annotations

import functools
import getpass
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from agentos.client.backend import (
    Backend,
    ChangeWaiter,
    EventCallback,
    Snapshot,
    Source,
    StateCallback,
)
from agentos.errors import InvalidError, UnavailableError
from agentos.schemas.actions import ActionInfo, ActionResponse, ActionStatusRead
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.admin import AdminDocument
from agentos.schemas.auth import AccessToken, TokenPair
from agentos.schemas.common import Page, PageParams
from agentos.schemas.db import MigrationResult, SchemaReport
from agentos.schemas.figures import FiguresPart, LiveFigures
from agentos.schemas.jobs import JobDetail, JobFilters, JobRead, JobStatus
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
from agentos.services import events, jobs, outages, queue
from agentos.services.context import Actor
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.pipeline import workers
from agentos.services.runtime import Runtime
from agentos.services.security import authn, users

if TYPE_CHECKING:
    from agentos.services.backends.base import BusEvent, Subscription

# What only some calls need (Alembic, the seed, the admin read model, the action pipeline,
# the uploads, the embedded runner) is imported by those calls: a local `agentos jobs
# list` loads the job queries, not the whole core.

B = TypeVar("B", bound=Backend)
# Methods with a default in `Backend` that LocalBackend overrides: outages translated too.
TRANSLATED = ("resolve_job_id", "unserved_agents")


def _outages_as_errors(cls: type[B]) -> type[B]:
    """Every call of the backend answers a database or Redis that stopped answering (or a
    database never migrated) with UnavailableError, so front ends print one line."""
    for name in {*Backend.__abstractmethods__, *TRANSLATED}:
        method = cls.__dict__.get(name)
        if callable(method):
            setattr(cls, name, _translated(method))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            outage = outages.as_unavailable(exc)
            if outage is None or outage is exc:
                raise
            raise outage from exc

    return call


@_outages_as_errors
class LocalBackend(Backend):
    kind = "local"

    def __init__(self, runtime: Runtime, *, source: Source = "cli", owns_runtime: bool = True):
        self.runtime = runtime
        self.source = source
        self._owns_runtime = owns_runtime
        self._configured = False

    @property
    def label(self) -> str:
        settings = self.runtime.settings
        database = "SQLite" if settings.is_sqlite else "PostgreSQL"
        backends = "embedded" if settings.is_embedded else "Redis"
        return f"local · {database} + {backends}"

    @property
    def actor(self) -> Actor:
        """The configured local operator, audited with the OS user who ran the command."""
        return Actor(
            name=self.runtime.settings.local_operator,
            role="admin",
            source=self.source,
            user_agent=f"agentos-{self.source} ({_os_user()})",
        )

    # Jobs, queue, uploads --------------------------------------------------------------

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
        ordering = {"sort": sort or "created_at", "order": order or "desc"}
        filters = JobFilters.model_validate(
            {"status": status or None, "search": search, "id_prefix": id_prefix, **ordering}
        )
        params = PageParams(page=page, per_page=per_page, cursor=cursor)
        with self.runtime.session() as session:
            return jobs.find(session, actor=self.actor, filters=filters, page=params)

    def show_job(self, job_id: uuid.UUID) -> JobDetail:
        with self.runtime.session() as session:
            return jobs.get_detail(session, job_id=job_id, actor=self.actor)

    def resolve_job_id(self, text: str) -> uuid.UUID:
        with self.runtime.session() as session:
            return jobs.resolve_id(session, text, actor=self.actor)

    def unserved_agents(self) -> list[str]:
        with self.runtime.session() as session:
            return [agent for agent in PIPELINE if not workers.serving(session, agent)]

    def in_process_runner(self, agents: list[str]) -> AbstractContextManager[object] | None:
        """Embedded only: an `EmbeddedRunner` for `agents` in this process (queued work
        lives in the database it claims from); with Redis the work goes to Celery."""
        if not self.runtime.settings.is_embedded:
            return None
        return _running(self.runtime, set(agents))

    def queue_status(self) -> QueueStatus:
        with self.runtime.session() as session:
            return queue.status(session)

    def init_upload(self, request: UploadInit) -> UploadRead:
        from agentos.services import uploads

        with self.runtime.session() as session:
            return uploads.init(session, actor=self.actor, request=request)

    def put_chunk(self, upload_id: uuid.UUID, index: int, data: bytes, sha256: str) -> ChunkReceipt:
        from agentos.services import uploads

        return uploads.put_chunk(
            self.runtime,
            actor=self.actor,
            upload_id=upload_id,
            index=index,
            data=data,
            chunk_sha256=sha256,
        )

    def upload_status(self, upload_id: uuid.UUID) -> UploadStatusRead:
        from agentos.services import uploads

        with self.runtime.session() as session:
            return uploads.status(session, actor=self.actor, upload_id=upload_id)

    def finalize_upload(self, request: UploadFinalize) -> UploadFinalized:
        from agentos.services import uploads

        with self.runtime.session() as session:
            return uploads.finalize(session, actor=self.actor, request=request)

    # Admin views and actions --------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        from agentos.services import admin_data

        cached = admin_data.get_document(self.runtime)
        return Snapshot(AdminDocument.model_validate_json(cached.body), cached.meta())

    def run_action(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> ActionResponse:
        from agentos.services.actions import pipeline
        from agentos.services.config import live as config_live

        if not self._configured:  # the deployment's runtime configuration, read once
            config_live.load(self.runtime)
            self._configured = True
        with self.runtime.session() as session:
            return pipeline.execute(
                session,
                actor=self.actor,
                action=name,
                payload=payload or {},
                idempotency_key=idempotency_key,
            )

    def catalog(self) -> list[ActionInfo]:
        from agentos.services.actions import status

        return status.catalog_for(self.runtime.settings, self.actor.role)

    def action_status(self, *, recent: int = 20, window_hours: int = 24) -> ActionStatusRead:
        from agentos.services.actions import status

        with self.runtime.session() as session:
            return status.status(
                session, actor=self.actor, recent=recent, window_hours=window_hours
            )

    def figures(
        self, *, parts: Sequence[FiguresPart], error_code: str | None = None
    ) -> LiveFigures:
        from agentos.services.actions import figures_read

        with self.runtime.read_session() as session:
            return figures_read.read(session, actor=self.actor, parts=parts, error_code=error_code)

    # Accounts and the database ------------------------------------------------------------

    def create_user(
        self, *, username: str, role: str, password: str | None = None, email: str | None = None
    ) -> UserCreated:
        with self.runtime.session() as session:
            user, one_time = users.create(
                session, username=username, role=role, password=password, email=email
            )
        return UserCreated(user=user, one_time_password=one_time)

    def managers(self) -> ManagersView:
        from agentos.services.actions import managers_read

        with self.runtime.session() as session:
            return managers_read.overview(session, actor=self.actor)

    def change_password(self, *, current: str, new: str) -> TokenPair:
        raise _remote_only()

    def require_user_session(self) -> None:
        raise _remote_only()

    def list_users(self, *, page: int = 1, per_page: int = 100) -> Page[UserRead]:
        with self.runtime.session() as session:
            return users.find(session, page=PageParams(page=page, per_page=per_page))

    def mint_token(self, *, username: str, ttl_s: int | None = None) -> AccessToken:
        with self.runtime.session() as session:
            return authn.mint_token(session, username=username, actor=self.actor, ttl_s=ttl_s)

    def migrate(self) -> MigrationResult:
        """Migrate to head, then create the pipeline agents a fresh database lacks (so a
        migrated home shows its six agents, not `agents 0/0`)."""
        from agentos.db import migrate

        engine = self.runtime.engine
        try:
            before = migrate.current_revision(engine)
            migrate.ensure_schema(engine)
            after = migrate.current_revision(engine)
        except OSError as exc:
            raise _unreachable(exc) from exc
        with self.runtime.session() as session:
            created = ensure_default_agents(session)
        return MigrationResult(
            dialect=engine.dialect.name,
            before=before,
            after=after,
            head=migrate.head_revision(),
            agents_created=created,
        )

    def check_schema(self) -> SchemaReport:
        from agentos.services import schema_check

        return schema_check.compare(self.runtime.engine)

    def database_is_empty(self) -> bool:
        """A database that cannot be read counts as not empty: reset-and-seed asks first."""
        from agentos.services import seed

        try:
            return seed.is_empty(self.runtime)
        except Exception:
            return False

    def reset_and_seed(
        self, *, options: SeedOptions, progress: SeedProgress | None = None
    ) -> SeedResult:
        from agentos.services import seed

        return seed.reset_and_seed(self.runtime, options=options, progress=progress)

    # Live -----------------------------------------------------------------------------------

    def subscribe(
        self, *, on_event: EventCallback, on_state: StateCallback, max_backoff_s: float = 8.0
    ) -> Callable[[], None]:
        from agentos.services import admin_data

        # The read model's own feed: it marks the cached document stale before we hear of
        # the change, so a snapshot read right after an event already shows it.
        def forward(event: BusEvent) -> None:
            on_event(dict(event.payload))

        on_state("connecting", "bus")
        remove = admin_data.add_listener(self.runtime, forward)
        on_state("live", "bus")
        return remove

    @contextmanager
    def changes(self) -> Iterator[ChangeWaiter]:
        try:
            subscription: Subscription | None = self.runtime.backends.bus.subscribe(
                events.CHANGES_CHANNEL
            )
        except Exception:  # no bus: pausing alone still follows the change
            subscription = None
        try:
            yield _BusWaiter(subscription)
        finally:
            if subscription is not None:
                subscription.close()

    def close(self) -> None:
        if self._owns_runtime:
            self.runtime.close()


class _BusWaiter:
    def __init__(self, subscription: Subscription | None) -> None:
        self._subscription = subscription

    def wait(self, timeout_s: float) -> None:
        if self._subscription is None:
            time.sleep(timeout_s)
        else:
            self._subscription.get(timeout_s=timeout_s)


@contextmanager
def _running(runtime: Runtime, agents: set[str]) -> Iterator[object]:
    from agentos.services.pipeline.embedded_runner import EmbeddedRunner

    runner = EmbeddedRunner(
        runtime, name=f"cli-{os.getpid()}@{socket.gethostname()}", agents=agents
    )
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): the audit still names the source
        return "unknown"


def _remote_only() -> InvalidError:
    return InvalidError(
        "a password is changed by its user, through the server: "
        "`agentos users passwd --server URL` after `agentos login`",
        code="REMOTE_ONLY",
    )


def _unreachable(exc: Exception) -> UnavailableError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UnavailableError(f"database unreachable: {first}", code="DATABASE_UNAVAILABLE")
