"""The admin IP allow-list: `settings.admin_ip_allowlist` plus the `ip_allowlist` table.

The table is read at most every `REFRESH_S` seconds per runtime, so the check costs no
query on the hot path; `invalidate(session)` makes this runtime see a change at once (the
ipallow.* actions call it), other processes within `REFRESH_S`.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import IpAllowEntry
from agentos.errors import ForbiddenError
from agentos.services.context import Actor
from agentos.services.runtime import Runtime, runtime_of

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REFRESH_S = 5.0
# Local front ends run with the operator's own database access: no network boundary to guard.
EXEMPT_SOURCES = frozenset({"cli", "tui", "system", "task"})


class _TableCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.read_at = 0.0
        self.networks: tuple[IPNetwork, ...] | None = None


@lru_cache(maxsize=64)
def parse_networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _cache(runtime: Runtime) -> _TableCache:
    return runtime.component(_TableCache, _TableCache)


def _table_networks(runtime: Runtime, session: Session | None) -> tuple[IPNetwork, ...]:
    cache, now = _cache(runtime), time.monotonic()
    with cache.lock:
        cached, read_at = cache.networks, cache.read_at
    if cached is not None and now - read_at < REFRESH_S:
        return cached
    if session is None:
        with runtime.read_session() as reader:
            rows = reader.scalars(select(IpAllowEntry.cidr)).all()
    else:
        rows = session.scalars(select(IpAllowEntry.cidr)).all()
    found: list[IPNetwork] = []
    for cidr in rows:
        try:
            found.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue  # a bad row must not lock every admin out
    with cache.lock:
        cache.networks, cache.read_at = tuple(found), now
    return tuple(found)


def invalidate(session: Session) -> None:
    cache = _cache(runtime_of(session))
    with cache.lock:
        cache.networks = None


def is_allowed(runtime: Runtime, ip: str | None, *, session: Session | None = None) -> bool:
    """Whether `ip` may use the admin endpoints; reads the table (through `session`, else a
    session of its own) only when the configured networks do not admit it and the cached
    table is stale."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    configured = parse_networks(tuple(runtime.settings.admin_ip_allowlist))
    if any(address in network for network in configured):
        return True
    return any(address in network for network in _table_networks(runtime, session))


def require_allowed(runtime: Runtime, actor: Actor, *, session: Session | None = None) -> None:
    if actor.source in EXEMPT_SOURCES:
        return
    if not is_allowed(runtime, actor.ip, session=session):
        raise ForbiddenError(
            f"admin actions are not allowed from {actor.ip or 'an unknown address'}",
            code="IP_NOT_ALLOWED",
            details={"ip": actor.ip},
        )
