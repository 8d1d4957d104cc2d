"""The one door for front ends: a `Backend` (see `backend.py`).

`connect()` is where a front end gets one: a `LocalBackend` on this machine's runtime, or
an `HttpBackend` when given a server URL (with a token, or else the login stored by
`login()`). Each is imported when chosen, so a remote command never loads the service
layer.
"""

from __future__ import annotations

from pathlib import Path

from agentos.client.backend import Backend, Snapshot, Source
from agentos.client.session import SessionStore
from agentos.schemas.auth import TokenPair
from agentos.settings import Settings, get_settings

__all__ = ["Backend", "Snapshot", "connect", "login", "logout", "session_file"]


def connect(
    *,
    server: str | None = None,
    token: str | None = None,
    source: Source = "cli",
    settings: Settings | None = None,
) -> Backend:
    """A backend for the command line or the TUI; the caller closes it. Local backends use
    `settings` (default: the environment's)."""
    if server:
        from agentos.client.http import HttpBackend

        return HttpBackend(server, token, source=source)
    from agentos.client.local import LocalBackend
    from agentos.services.runtime import Runtime

    runtime = Runtime(settings or get_settings())
    if not runtime.settings.is_embedded:
        from agentos.services.pipeline import worker_control
        from agentos.tasks.remote_control import CeleryWorkerControl

        worker_control.use(runtime, CeleryWorkerControl.for_runtime)
    return LocalBackend(runtime, source=source)


def login(*, server: str, username: str, password: str) -> TokenPair:
    """Log in to `server` and store the session (`session_file()`) for later commands."""
    from agentos.client.http import HttpBackend

    backend = HttpBackend(server, source="cli")
    try:
        return backend.login(username=username, password=password)
    finally:
        backend.close()


def logout(*, server: str | None = None) -> list[str]:
    """Forget the stored session of `server` (every one when None); the servers forgotten."""
    return SessionStore.default().forget(server)


def session_file() -> Path:
    return SessionStore.default().path
