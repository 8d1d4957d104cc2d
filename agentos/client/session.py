"""Stored logins (`agentos login`): one refreshable session per server URL, in one file.

The file (`session_file()`: $AGENTOS_SESSION_FILE, else $XDG_CONFIG_HOME/agentos/
sessions.json, else ~/.config/agentos/sessions.json) is JSON, mode 0600, replaced
atomically on every change:

    {"format": "agentos-sessions/1",
     "sessions": {"https://ops.example:8000": {
         "username": "alice", "access_token": "eyJ...", "access_expires_at": "...Z",
         "refresh_token": "rt_...", "refresh_expires_at": "...Z",
         "must_change_password": false, "saved_at": "...Z", "refused": null}}}

Expiry times are this machine's clock at receipt plus the server's `expires_in`, so a
skewed server clock does not matter. A session the server refused to refresh keeps its
entry with `refused` set to the server's code and no tokens, so later commands say "log in
again" at once instead of presenting a dead token (which would raise a reuse alarm).

Several processes share the file (two CLI commands, a TUI): a refresh happens under an
exclusive `flock` on `sessions.json.lock`, after reading the file again; when another
process already rotated the tokens, theirs are used and nothing is sent. Each refresh token
works once on the server, so this is what keeps concurrent commands from burning a login.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agentos.client.backend import SessionState
from agentos.errors import UnauthenticatedError, UnavailableError
from agentos.schemas.auth import TokenPair

FORMAT = "agentos-sessions/1"
SESSION_EXPIRED = "SESSION_EXPIRED"
NOT_LOGGED_IN = "NOT_LOGGED_IN"
# Renew this long before the access token expires (at most a fifth of its lifetime).
REFRESH_MARGIN_S = 30.0
LOCK_TIMEOUT_S = 15.0


def session_file() -> Path:
    explicit = os.environ.get("AGENTOS_SESSION_FILE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "agentos" / "sessions.json"


def server_key(server: str) -> str:
    return server.strip().rstrip("/")


def session_expired(server: str, reason: str | None = None) -> UnauthenticatedError:
    return UnauthenticatedError(
        f"session for {server} expired or was revoked: run `agentos login --server {server}`",
        code=SESSION_EXPIRED,
        details={"server": server, "reason": reason},
    )


def not_logged_in(server: str) -> UnauthenticatedError:
    return UnauthenticatedError(
        f"not logged in to {server}: run `agentos login --server {server}` (or pass --token)",
        code=NOT_LOGGED_IN,
        details={"server": server},
    )


class StoredSession(BaseModel):
    username: str | None = None
    access_token: str | None = None
    access_expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    must_change_password: bool = False
    saved_at: datetime
    refused: str | None = None

    @classmethod
    def from_pair(cls, pair: TokenPair, *, username: str | None) -> StoredSession:
        now = datetime.now(UTC)
        return cls(
            username=username,
            access_token=pair.access_token,
            access_expires_at=now + timedelta(seconds=pair.expires_in),
            refresh_token=pair.refresh_token,
            refresh_expires_at=now + timedelta(seconds=pair.refresh_expires_in),
            must_change_password=pair.must_change_password,
            saved_at=now,
        )

    def expiring(self) -> bool:
        """The access token is missing, expired, or about to expire."""
        if self.access_token is None or self.access_expires_at is None:
            return True
        lifetime = (self.access_expires_at - self.saved_at).total_seconds()
        margin = min(REFRESH_MARGIN_S, max(lifetime, 0) / 5)
        return datetime.now(UTC) >= self.access_expires_at - timedelta(seconds=margin)

    def refresh_expired(self) -> bool:
        return self.refresh_expires_at is not None and datetime.now(UTC) >= self.refresh_expires_at


class SessionStore:
    """The session file: read, written atomically (0600), locked for refreshes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls) -> SessionStore:
        return cls(session_file())

    def load(self) -> dict[str, StoredSession]:
        """Every stored session; an unreadable file counts as none."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entries = raw.get("sessions") if isinstance(raw, dict) else None
        result: dict[str, StoredSession] = {}
        for server, entry in (entries or {}).items():
            with contextlib.suppress(ValidationError):
                result[server] = StoredSession.model_validate(entry)
        return result

    def get(self, server: str) -> StoredSession | None:
        return self.load().get(server_key(server))

    def save(self, server: str, session: StoredSession) -> StoredSession:
        """Store (or replace) the session of `server`; call it holding `locked()`."""
        sessions = self.load()
        sessions[server_key(server)] = session
        self._write(sessions)
        return session

    def forget(self, server: str | None = None) -> list[str]:
        """Drop the session of `server` (every session when None); the servers dropped."""
        with self.locked():
            sessions = self.load()
            gone = [key for key in sessions if server is None or key == server_key(server)]
            if gone:
                self._write({k: v for k, v in sessions.items() if k not in gone})
            return gone

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes (and threads: each call opens its own descriptor)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise UnavailableError(
                            f"{self.path} is locked by another agentos process",
                            code="SESSION_FILE_LOCKED",
                        ) from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _write(self, sessions: dict[str, StoredSession]) -> None:
        body: dict[str, Any] = {
            "format": FORMAT,
            "sessions": {key: value.model_dump(mode="json") for key, value in sessions.items()},
        }
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600; os.replace swaps it in whole.
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".sessions-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(body, stream, indent=2)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


class SessionCredentials:
    """The bearer of an `HttpBackend` that runs on a stored login: renewed shortly before
    it expires and after a 401 saying it expired, the rotated refresh token saved."""

    def __init__(
        self, store: SessionStore, server: str, exchange: Callable[[str], TokenPair]
    ) -> None:
        """`exchange(refresh_token)`: POST /api/auth/refresh; raises what the server said."""
        self.store = store
        self.server = server_key(server)
        self._exchange = exchange
        self._lock = threading.Lock()
        self._current = store.get(self.server)

    @property
    def state(self) -> SessionState:
        current = self._current
        if current is None:
            return "none"
        return "expired" if current.refused else "active"

    @property
    def username(self) -> str | None:
        return self._current.username if self._current else None

    def access_token(self) -> str:
        """The token to send now (renewed first when it is about to expire)."""
        current = self._current
        if current is None or current.refused:  # someone may have logged in since
            current = self._current = self.store.get(self.server)
        if current is None:
            raise not_logged_in(self.server)
        if current.refused:
            raise session_expired(self.server, current.refused)
        if current.expiring() or current.access_token is None:
            return self.renew(current.access_token)
        return current.access_token

    def renew(self, used: str | None) -> str:
        """A fresh access token: another process's if it already rotated the session,
        else one from the server (the new refresh token saved before it is used)."""
        with self._lock, self.store.locked():
            stored = self.store.get(self.server)
            if stored is None:
                self._current = None
                raise not_logged_in(self.server)
            if not stored.refused and stored.access_token != used and not stored.expiring():
                self._current = stored
                return str(stored.access_token)
            if stored.refused or stored.refresh_token is None or stored.refresh_expired():
                raise self._refused(stored, stored.refused or "TOKEN_EXPIRED")
            try:
                pair = self._exchange(stored.refresh_token)
            except UnauthenticatedError as error:
                raise self._refused(stored, error.code) from None
            self._current = self.store.save(
                self.server, StoredSession.from_pair(pair, username=stored.username)
            )
            return pair.access_token

    def adopt(self, pair: TokenPair, *, username: str | None = None) -> StoredSession:
        """Store a pair the server just issued (a login, a password change)."""
        with self._lock, self.store.locked():
            name = username or (self._current.username if self._current else None)
            self._current = self.store.save(
                self.server, StoredSession.from_pair(pair, username=name)
            )
            return self._current

    def _refused(self, stored: StoredSession, reason: str) -> UnauthenticatedError:
        dead = StoredSession(username=stored.username, saved_at=datetime.now(UTC), refused=reason)
        self._current = self.store.save(self.server, dead)
        return session_expired(self.server, reason)
