"""The admin read model (SSOT): one document of five sections, served cache-first.

    collect(runtime) -> AdminDocument       straight from the database (sections in parallel)
    get_document(runtime) -> CachedDocument cache-first bytes with source hit/miss/direct
    rebuild(runtime) -> RebuildResult       a fresh document now (dashboard.refresh)
    warm(runtime) -> RebuildResult | None   the periodic task (embedded scheduler, Celery beat)
    health(runtime) -> SsotHealth
    start_background(runtime) -> stop       the change feed and, in the server, the warmer
    add_listener(runtime, fn) -> remove     live change events, from the one bus subscription

The store behind these is one per runtime (`store_for`): `build` collects, `store` keeps
the cache state and single-flight rebuilds, `feed` follows the bus, `sections` queries.
"""

from __future__ import annotations

from collections.abc import Callable

from agentos.schemas.admin import RebuildResult, SsotHealth
from agentos.services.admin_data.build import CachedDocument, collect
from agentos.services.admin_data.feed import SSOT_CHANNEL, Listener
from agentos.services.admin_data.store import SsotStore
from agentos.services.runtime import Runtime

__all__ = [
    "SSOT_CHANNEL",
    "CachedDocument",
    "SsotStore",
    "add_listener",
    "collect",
    "get_document",
    "health",
    "rebuild",
    "start_background",
    "store_for",
    "warm",
]


def store_for(runtime: Runtime) -> SsotStore:
    """The runtime's one store (closed with the runtime)."""
    return runtime.component(SsotStore, lambda: SsotStore(runtime))


def get_document(runtime: Runtime) -> CachedDocument:
    return store_for(runtime).get()


def rebuild(runtime: Runtime) -> RebuildResult:
    return store_for(runtime).rebuild()


def warm(runtime: Runtime) -> RebuildResult | None:
    """Rebuild unless the document is already fresh; None when nothing needed doing."""
    return store_for(runtime).warm()


def health(runtime: Runtime) -> SsotHealth:
    return store_for(runtime).health()


def add_listener(runtime: Runtime, listener: Listener) -> Callable[[], None]:
    store = store_for(runtime)
    store.feed.start()
    return store.feed.add_listener(listener)


def start_background(runtime: Runtime, *, warmer: bool = True) -> Callable[[], None]:
    """Start the change feed (and the warmer); returns the callable that stops them."""
    store = store_for(runtime)
    store.feed.start()
    if warmer:
        store.warmer.start()

    def stop() -> None:
        store.warmer.stop()
        store.feed.stop()

    return stop
