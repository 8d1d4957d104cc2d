"""Where a front end's calls go: the local service layer, or a server over HTTP.

Each domain module in `agentos.client` offers functions taking a `Connection` and picks
the path: `conn.local` runs services in a `conn.session()` unit of work; otherwise
`conn.request()` calls the API, unwraps the envelope and re-raises the server's error as
the same `AgentOSError` subclass, so front ends handle one error family either way.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from agentos.db.session import session_scope
from agentos.errors import InvalidError, UnavailableError, error_from_kind
from agentos.services.context import Actor, Source
from agentos.settings import Settings, get_settings

KIND_BY_STATUS: dict[int, str] = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "invalid",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


@dataclass
class Connection:
    settings: Settings
    server: str | None = None
    token: str | None = None
    source: Source = "cli"
    timeout_s: float = 30.0
    _http: httpx.Client | None = field(default=None, repr=False)

    @property
    def local(self) -> bool:
        return self.server is None

    @property
    def local_actor(self) -> Actor:
        """The configured local operator, audited with the OS user who ran the command."""
        return Actor(
            name=self.settings.local_operator,
            role="admin",
            source=self.source,
            user_agent=f"agentos-{self.source} ({_os_user()})",
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.settings) as session:
            yield session

    @property
    def http(self) -> httpx.Client:
        if self.server is None:
            raise InvalidError("this command needs --server for remote use")
        if self._http is None:
            headers = {"User-Agent": f"agentos-{self.source}"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            self._http = httpx.Client(
                base_url=self.server.rstrip("/"), headers=headers, timeout=self.timeout_s
            )
        return self._http

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API and return the envelope's `data` (or the whole body for pages)."""
        response = self.raw_request(method, path, **kwargs)
        body = response.json()
        if "pagination" in body:
            return body
        return body.get("data")

    def raw_request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UnavailableError(
                f"cannot reach {self.server}: {exc}", code="SERVER_UNREACHABLE"
            ) from exc
        if response.is_success:
            return response
        raise _error_from_response(response)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): the audit still names the source
        return "unknown"


def _error_from_response(response: httpx.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = body.get("error") or f"HTTP {response.status_code}"
    code = body.get("error_code")
    details = dict(body.get("details") or {})
    if response.status_code == 429:
        details.setdefault("retry_after_s", float(response.headers.get("Retry-After", "1")))
    kind = KIND_BY_STATUS.get(response.status_code, "internal")
    return error_from_kind(kind, message, code=code, details=details)


def connect(
    *, server: str | None = None, token: str | None = None, source: Source = "cli"
) -> Connection:
    return Connection(settings=get_settings(), server=server, token=token, source=source)
