"""Backends chosen by configuration: Redis when `AGENTOS_REDIS_URL` is set, else embedded."""

from __future__ import annotations

import threading

from agentos.services.backends.base import Backends
from agentos.settings import Settings

_instances: dict[tuple[str | None, str, str], Backends] = {}
_lock = threading.Lock()


def _key(settings: Settings) -> tuple[str | None, str, str]:
    return (settings.redis_url, settings.resolved_database_url, settings.redis_key_prefix)


def build_backends(settings: Settings) -> Backends:
    if settings.redis_url:
        from agentos.services.backends.redis import build_redis_backends

        return build_redis_backends(settings)
    from agentos.services.backends.embedded import build_embedded_backends

    return build_embedded_backends(settings)


def get_backends(settings: Settings) -> Backends:
    """One set of backends per configuration and process."""
    key = _key(settings)
    with _lock:
        backends = _instances.get(key)
        if backends is None:
            backends = build_backends(settings)
            _instances[key] = backends
        return backends


def close_backends() -> None:
    with _lock:
        for backends in _instances.values():
            backends.close()
        _instances.clear()


def drop_backends(settings: Settings) -> None:
    """Close and forget the backends of one configuration (tests, reconfiguration)."""
    with _lock:
        backends = _instances.pop(_key(settings), None)
    if backends is not None:
        backends.close()
