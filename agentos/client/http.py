"""`HttpBackend`: the same calls through a server's HTTP API, with a bearer token.

Each answer's envelope is unwrapped, and an error answer is raised again as the same
`AgentOSError` subclass the server raised, so front ends handle one error family.

The bearer is the token given (`--token`: an access token or an API key) or, without one,
the login stored by `agentos login` for this server (`client/session.py`): its access token
is renewed shortly before it expires and once after a 401 saying it expired or was
revoked, and a refused renewal raises UnauthenticatedError SESSION_EXPIRED.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from agentos.client.backend import (
    Backend,
    ChangeWaiter,
    EventCallback,
    SessionState,
    Snapshot,
    Source,
    StateCallback,
    local_only,
)
from agentos.client.live import RemoteFeed
from agentos.client.session import SessionCredentials, SessionStore
from agentos.errors import AgentOSError, UnavailableError, error_from_kind
from agentos.schemas.actions import ActionInfo, ActionResponse, ActionStatusRead
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.admin import AdminDocument, CacheMeta
from agentos.schemas.auth import AccessToken, TokenPair
from agentos.schemas.common import Page, Pagination
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

ACTION_PATH = "/api/admin/action"
STATUS_PATH = "/api/admin/action/status"
FIGURES_PATH = "/api/admin/ssot/figures"
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
# A 401 with one of these codes is worth one renewal of a stored session (a role change
# revokes access tokens but not the login, so renewing gets a token with the new role).
RENEWABLE_CODES = frozenset({"TOKEN_EXPIRED", "TOKEN_REVOKED"})


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
        sessions: SessionStore | None = None,
    ) -> None:
        """`client`: an httpx client to send through (tests pass an app's TestClient);
        `sessions`: where stored logins are (default: the user's session file), used
        when no `token` is given."""
        self.server = server.rstrip("/")
        self._token = token
        self._store = sessions or SessionStore.default()
        self.session: SessionCredentials | None = None
        if not token:
            self.session = SessionCredentials(self._store, self.server, self._exchange)
        headers = {"User-Agent": f"agentos-{source}"}
        self._owns_client = client is None
        if client is None:
            client = httpx.Client(base_url=self.server, headers=headers, timeout=timeout_s)
        else:
            client.headers.update(headers)
        self.http = client

    @property
    def token(self) -> str | None:
        """The bearer sent now (a stored session's access token, renewed when due)."""
        if self.session is None:
            return self._token
        return self.session.access_token()

    def session_state(self) -> SessionState | None:
        return None if self.session is None else self.session.state

    @property
    def label(self) -> str:
        return f"remote · {self.server}"

    # Transport -------------------------------------------------------------------------

    def raw_request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        bearer = self.token
        response = self._send(method, path, bearer, **kwargs)
        if (
            response.status_code == 401
            and self.session is not None
            and error_code(response) in RENEWABLE_CODES
        ):
            bearer = self.session.renew(bearer)
            response = self._send(method, path, bearer, **kwargs)
        if response.is_success:
            return response
        raise error_from_response(response)

    def _send(self, method: str, path: str, bearer: str | None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            return self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise UnavailableError(
                f"cannot reach {self.server}: {exc}", code="SERVER_UNREACHABLE"
            ) from exc

    def _public(self, path: str, body: dict[str, Any]) -> TokenPair:
        """POST to a public auth endpoint (no bearer); the token pair it answers."""
        response = self._send("POST", path, None, json=body)
        if not response.is_success:
            raise error_from_response(response)
        return TokenPair.model_validate(response.json().get("data"))

    def _exchange(self, refresh_token: str) -> TokenPair:
        return self._public("/api/auth/refresh", {"refresh_token": refresh_token})

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
        id_prefix: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        cursor: str | None = None,
    ) -> Page[JobRead]:
        query: dict[str, str | int | list[str]] = {"page": page, "per_page": per_page}
        pairs = (("sort", sort), ("order", order), ("cursor", cursor))
        query.update({name: value for name, value in pairs if value})
        if status:
            query["status"] = [value.value for value in status]
        if search:
            query["search"] = search
        if id_prefix:
            query["id_prefix"] = id_prefix
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

    def figures(
        self, *, parts: Sequence[FiguresPart], error_code: str | None = None
    ) -> LiveFigures:
        query: dict[str, str | list[str]] = {"part": [str(part) for part in parts]}
        if error_code is not None:
            query["error_code"] = error_code
        return LiveFigures.model_validate(self.request("GET", FIGURES_PATH, params=query))

    # Accounts ---------------------------------------------------------------------------

    def login(self, *, username: str, password: str) -> TokenPair:
        """Log in and store the session for this server (`agentos login`)."""
        pair = self._public("/api/auth/login", {"username": username, "password": password})
        if self.session is None:
            self.session = SessionCredentials(self._store, self.server, self._exchange)
        self.session.adopt(pair, username=username.strip().lower())
        return pair

    def managers(self) -> ManagersView:
        return ManagersView.model_validate(self.request("GET", "/api/admin/ssot/managers"))

    def change_password(self, *, current: str, new: str) -> TokenPair:
        """Every other session of the user ends: the new pair becomes the stored session."""
        body = {"current_password": current, "new_password": new}
        pair = TokenPair.model_validate(self.request("POST", "/api/auth/password", json=body))
        if self.session is not None:
            self.session.adopt(pair)
        return pair

    def list_users(self, *, page: int = 1, per_page: int = 100) -> Page[UserRead]:
        """A page of the Managers view's users (by username, as locally)."""
        view = self.managers()
        start = (page - 1) * per_page
        return Page[UserRead](
            data=view.users[start : start + per_page],
            pagination=Pagination.of(page=page, per_page=per_page, total=view.users_total),
        )

    # The database and direct account writes: no HTTP endpoint ----------------------------

    def create_user(
        self, *, username: str, role: str, password: str | None = None, email: str | None = None
    ) -> UserCreated:
        raise local_only(
            "users create --password-stdin",
            "; without --password-stdin the server creates the user with a one-time password",
        )

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
        bearer = self._token if self.session is None else self.session.access_token
        feed = RemoteFeed(self.server, bearer, on_event, on_state, max_backoff_s=max_backoff_s)
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


def error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error_code") if isinstance(body, dict) else None


def error_from_response(response: httpx.Response) -> AgentOSError:
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
