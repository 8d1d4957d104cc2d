"""The Textual operator dashboard (`agentos tui`)."""

from __future__ import annotations


def run(*, server: str | None = None, token: str | None = None, read_only: bool = False) -> None:
    """Start the dashboard: local on this machine's configuration, or remote with --server."""
    from agentos.errors import InvalidError
    from agentos.tui.app import AgentOSApp
    from agentos.tui.source import LocalSource, RemoteSource, Source

    if token and not server:
        raise InvalidError("--token needs --server", code="VALIDATION_ERROR")
    source: Source = RemoteSource(server, token) if server else LocalSource()
    AgentOSApp(source, read_only=read_only).run()
