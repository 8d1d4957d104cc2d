"""The admin IP allow-list: `settings.admin_ip_allowlist` plus the `ip_allowlist` table.

The table is read at most every `REFRESH_S` seconds per process, so the check costs no
query on the hot path; `invalidate()` makes this process see a change at once (the
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
from agentos.services.runtime import settings_of

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REFRESH_S = 5.0
# Local front ends run with the operator's own database access: no network boundary to guard.
EXEMPT_SOURCES = frozenset({"cli", "tui", "system", "task"})

_lock = threading.Lock()
_table_cache: dict[str, tuple[float, tuple[IPNetwork, ...]]] = {}


@lru_cache(maxsize=64)
def parse_networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _table_networks(session: Session) -> tuple[IPNetwork, ...]:
    url = settings_of(session).resolved_database_url
    now = time.monotonic()
    with _lock:
        cached = _table_cache.get(url)
    if cached is not None and now - cached[0] < REFRESH_S:
        return cached[1]
    rows = session.scalars(select(IpAllowEntry.cidr)).all()
    networks: list[IPNetwork] = []
    for cidr in rows:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue  # a bad row must not lock every admin out
    with _lock:
        _table_cache[url] = (now, tuple(networks))
    return tuple(networks)


def invalidate() -> None:
    with _lock:
        _table_cache.clear()


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
