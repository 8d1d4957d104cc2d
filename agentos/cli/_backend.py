"""Where a command's calls go: `opened(server, token)` gives a `Backend` and closes it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agentos.client import Backend, connect


@contextmanager
def opened(server: str | None, token: str | None) -> Iterator[Backend]:
    backend = connect(server=server, token=token, source="cli")
    try:
        yield backend
    finally:
        backend.close()
