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
from agentos.services.runtime import component_of, settings_of

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


def _cache(session: Session) -> _TableCache:
    return component_of(session, _TableCache, lambda _runtime: _TableCache())


def _table_networks(session: Session) -> tuple[IPNetwork, ...]:
    cache, now = _cache(session), time.monotonic()
    with cache.lock:
        cached, read_at = cache.networks, cache.read_at
    if cached is not None and now - read_at < REFRESH_S:
        return cached
    found: list[IPNetwork] = []
    for cidr in session.scalars(select(IpAllowEntry.cidr)).all():
        try:
            found.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue  # a bad row must not lock every admin out
    with cache.lock:
        cache.networks, cache.read_at = tuple(found), now
    return tuple(found)


def invalidate(session: Session) -> None:
    cache = _cache(session)
    with cache.lock:
        cache.networks = None


def is_allowed(session: Session, ip: str | None) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    configured = parse_networks(tuple(settings_of(session).admin_ip_allowlist))
    if any(address in network for network in configured):
        return True
    return any(address in network for network in _table_networks(session))


def require_allowed(session: Session, actor: Actor) -> None:
    if actor.source in EXEMPT_SOURCES:
        return
    if not is_allowed(session, actor.ip):
        raise ForbiddenError(
            f"admin actions are not allowed from {actor.ip or 'an unknown address'}",
            code="IP_NOT_ALLOWED",
            details={"ip": actor.ip},
        )
