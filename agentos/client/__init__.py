"""The one door for front ends: a `Backend` (see `backend.py`).

`connect()` is where a front end gets one: a `LocalBackend` on this machine's runtime, or
an `HttpBackend` when given a server URL. Each is imported when chosen, so a remote
command never loads the service layer.
"""

from __future__ import annotations

from agentos.client.backend import Backend, Snapshot, Source
from agentos.settings import Settings, get_settings

__all__ = ["Backend", "Snapshot", "connect"]


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

    return LocalBackend(Runtime(settings or get_settings()), source=source)
