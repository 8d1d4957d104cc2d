"""`HttpBackend`: the same calls through a server's HTTP API, with a bearer token.

Each answer's envelope is unwrapped, and an error answer is raised again as the same
`AgentOSError` subclass the server raised, so front ends handle one error family.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from agentos.client.backend import (
    Backend,
    ChangeWaiter,
    EventCallback,
    Snapshot,
    Source,
    StateCallback,
    local_only,
)
from agentos.client.live import RemoteFeed
from agentos.errors import UnavailableError, error_from_kind
from agentos.schemas.actions import ActionInfo, ActionResponse, ActionStatusRead
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.admin import AdminDocument, CacheMeta
from agentos.schemas.auth import AccessToken, TokenPair
from agentos.schemas.common import Page
from agentos.schemas.db import MigrationResult, SchemaReport
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

ACTION_PATH = "/api/admin/action"
STATUS_PATH = "/api/admin/action/status"
KIND_BY_STATUS: dict[int, str] = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "invalid",
    409: "conflict",
    413: "invalid",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


class HttpBackend(Backend):
    kind = "http"

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        source: Source = "cli",
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        """`client`: an httpx client to send through (tests pass an app's TestClient)."""
        self.server = server.rstrip("/")
        self.token = token
        headers = {"User-Agent": f"agentos-{source}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._owns_client = client is None
        if client is None:
            client = httpx.Client(base_url=self.server, headers=headers, timeout=timeout_s)
        else:
            client.headers.update(headers)
        self.http = client

    @property
    def label(self) -> str:
        return f"remote · {self.server}"

    # Transport -------------------------------------------------------------------------

    def raw_request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UnavailableError(
                f"cannot reach {self.server}: {exc}", code="SERVER_UNREACHABLE"
            ) from exc
        if response.is_success:
            return response
        raise error_from_response(response)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The envelope's `data` (or the whole body for pages)."""
        body = self.raw_request(method, path, **kwargs).json()
        return body if "pagination" in body else body.get("data")

    # Jobs, queue, uploads --------------------------------------------------------------

    def list_jobs(
        self,
        *,
        status: list[JobStatus] | None = None,
        search: str | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> Page[JobRead]:
        query: dict[str, str | int | list[str]] = {"page": page, "per_page": per_page}
        if status:
            query["status"] = [value.value for value in status]
        if search:
            query["search"] = search
        return Page[JobRead].model_validate(self.request("GET", "/api/jobs/history", params=query))

    def show_job(self, job_id: uuid.UUID) -> JobDetail:
        return JobDetail.model_validate(self.request("GET", f"/api/jobs/{job_id}"))

    def queue_status(self) -> QueueStatus:
        return QueueStatus.model_validate(self.request("GET", "/api/queue/status"))

    def init_upload(self, request: UploadInit) -> UploadRead:
        body = self.request("POST", "/api/upload/init", json=request.model_dump(mode="json"))
        return UploadRead.model_validate(body)

    def put_chunk(self, upload_id: uuid.UUID, index: int, data: bytes, sha256: str) -> ChunkReceipt:
        body = self.request(
            "POST",
            "/api/upload/chunk",
            params={"upload_id": str(upload_id), "index": index},
            content=data,
            headers={"Content-Type": "application/octet-stream", "X-Chunk-SHA256": sha256},
        )
        return ChunkReceipt.model_validate(body)

    def upload_status(self, upload_id: uuid.UUID) -> UploadStatusRead:
        return UploadStatusRead.model_validate(
            self.request("GET", f"/api/upload/status/{upload_id}")
        )

    def finalize_upload(self, request: UploadFinalize) -> UploadFinalized:
        body = self.request("POST", "/api/upload/finalize", json=request.model_dump(mode="json"))
        return UploadFinalized.model_validate(body)

    # Admin views and actions --------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        body = self.raw_request("GET", "/api/admin/ssot").json()
        return Snapshot(
            AdminDocument.model_validate(body["data"]), CacheMeta.model_validate(body["cache"])
        )

    def run_action(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> ActionResponse:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = self.request(
            "POST", ACTION_PATH, json={"action": name, "payload": payload or {}}, headers=headers
        )
        return ActionResponse.model_validate(data)

    def catalog(self) -> list[ActionInfo]:
        return self.action_status(recent=1, window_hours=1).catalog

    def action_status(self, *, recent: int = 20, window_hours: int = 24) -> ActionStatusRead:
        data = self.request(
            "GET", STATUS_PATH, params={"recent": recent, "window_hours": window_hours}
        )
        return ActionStatusRead.model_validate(data)

    # Accounts and the database: no HTTP endpoint yet ------------------------------------

    def create_user(
        self, *, username: str, role: str, password: str | None = None, email: str | None = None
    ) -> UserCreated:
        raise local_only("users create")

    def managers(self) -> ManagersView:
        return ManagersView.model_validate(self.request("GET", "/api/admin/managers"))

    def change_password(self, *, current: str, new: str) -> TokenPair:
        body = {"current_password": current, "new_password": new}
        return TokenPair.model_validate(self.request("POST", "/api/auth/password", json=body))

    def list_users(self, *, page: int = 1, per_page: int = 100) -> Page[UserRead]:
        raise local_only("users list")

    def mint_token(self, *, username: str, ttl_s: int | None = None) -> AccessToken:
        raise local_only("token", ", or log in with POST /api/auth/login")

    def migrate(self) -> MigrationResult:
        raise local_only("db migrate")

    def check_schema(self) -> SchemaReport:
        raise local_only("db check")

    def database_is_empty(self) -> bool:
        raise local_only("db reset-and-seed")

    def reset_and_seed(
        self, *, options: SeedOptions, progress: SeedProgress | None = None
    ) -> SeedResult:
        raise local_only("db reset-and-seed")

    # Live -----------------------------------------------------------------------------------

    def subscribe(
        self, *, on_event: EventCallback, on_state: StateCallback, max_backoff_s: float = 8.0
    ) -> Callable[[], None]:
        feed = RemoteFeed(self.server, self.token, on_event, on_state, max_backoff_s=max_backoff_s)
        feed.start()
        return feed.stop

    @contextmanager
    def changes(self) -> Iterator[ChangeWaiter]:
        yield _Pause()

    def close(self) -> None:
        if self._owns_client:
            self.http.close()


class _Pause:
    def wait(self, timeout_s: float) -> None:
        time.sleep(timeout_s)


def error_from_response(response: httpx.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("error") or f"HTTP {response.status_code}"
    code = body.get("error_code")
    details = dict(body.get("details") or {})
    if response.status_code == 429:
        details.setdefault("retry_after_s", float(response.headers.get("Retry-After", "1")))
    kind = KIND_BY_STATUS.get(response.status_code, "internal")
    return error_from_kind(kind, message, code=code, details=details)
