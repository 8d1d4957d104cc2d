"""Where a command's calls go: `opened(server, token)` gives a `Backend` and closes it.

The client (and, locally, the service layer behind it) is imported when a command first
connects, never when the CLI starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentos.client import Backend


def connect(**kwargs: Any) -> Backend:
    from agentos import client

    return client.connect(**kwargs)


@contextmanager
def opened(server: str | None, token: str | None) -> Iterator[Backend]:
    backend = connect(server=server, token=token, source="cli")
    try:
        yield backend
    finally:
        backend.close()
