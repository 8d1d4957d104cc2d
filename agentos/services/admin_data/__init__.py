"""The admin read model (SSOT): one document of five sections, served cache-first.

    collect(settings) -> AdminDocument     straight from the database (sections in parallel)
    get_document(settings) -> CachedDocument   cache-first bytes with source hit/miss/direct
    rebuild(settings) -> RebuildResult     a fresh document now (dashboard.refresh)
    warm(settings) -> RebuildResult | None the periodic task (embedded scheduler, Celery beat)
    health(settings) -> SsotHealth
    start_background(settings) -> stop    the change feed and, in the server, the warmer
    add_listener(settings, fn) -> remove   live change events, from the one bus subscription

The store behind these is one per deployment and process (see `admin_data_store`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from agentos.schemas.admin import AdminDocument, RebuildResult, SsotHealth
from agentos.services.admin_data.build import CachedDocument, collect, dispose_read_engines
from agentos.services.admin_data.feed import SSOT_CHANNEL, Listener
from agentos.services.admin_data.store import SsotStore
from agentos.settings import Settings

__all__ = [
    "SSOT_CHANNEL",
    "CachedDocument",
    "SsotStore",
    "add_listener",
    "collect",
    "get_document",
    "health",
    "rebuild",
    "reset",
    "start_background",
    "store_for",
    "warm",
]

_stores: dict[tuple[str | None, str, str, str], SsotStore] = {}
_lock = threading.Lock()


def _key(settings: Settings) -> tuple[str | None, str, str, str]:
    return (
        settings.redis_url,
        settings.resolved_database_url,
        settings.redis_key_prefix,
        settings.ssot_cache_key,
    )


def store_for(settings: Settings) -> SsotStore:
    key = _key(settings)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = SsotStore(settings)
        return store


def get_document(settings: Settings) -> CachedDocument:
    return store_for(settings).get()


def rebuild(settings: Settings) -> RebuildResult:
    return store_for(settings).rebuild()


def warm(settings: Settings) -> RebuildResult | None:
    """Rebuild unless the document is already fresh; None when nothing needed doing."""
    return store_for(settings).warm()


def health(settings: Settings) -> SsotHealth:
    return store_for(settings).health()


def add_listener(settings: Settings, listener: Listener) -> Callable[[], None]:
    store = store_for(settings)
    store.feed.start()
    return store.feed.add_listener(listener)


def start_background(settings: Settings, *, warmer: bool = True) -> Callable[[], None]:
    """Start the change feed (and the warmer); returns the callable that stops them."""
    store = store_for(settings)
    store.feed.start()
    if warmer:
        store.warmer.start()

    def stop() -> None:
        store.warmer.stop()
        store.feed.stop()

    return stop


def reset(settings: Settings | None = None) -> None:
    """Stop and forget the stores (of one deployment, or all): tests, reconfiguration."""
    with _lock:
        if settings is None:
            stores = list(_stores.values())
            _stores.clear()
        else:
            found = _stores.pop(_key(settings), None)
            stores = [found] if found else []
    for store in stores:
        store.close()
    dispose_read_engines(None if settings is None else settings.resolved_database_url)


def document_of(settings: Settings) -> AdminDocument:
    """The cached document parsed back into its schema (CLI/TUI local path)."""
    return AdminDocument.model_validate_json(get_document(settings).body)
