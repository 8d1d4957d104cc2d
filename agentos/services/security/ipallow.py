"""The admin IP allow-list: `settings.admin_ip_allowlist` plus the `ip_allowlist` table.

The table is read at most every `REFRESH_S` seconds per runtime, so the check costs no
query on the hot path; `invalidate(session)` makes this runtime see a change at once (the
ipallow.* actions call it) and announces it, so the other processes read it again when
they hear of it (and within `REFRESH_S` regardless).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from agentos.db.models import IpAllowEntry
from agentos.errors import ForbiddenError
from agentos.schemas.actions_managers import IpAllowEntryRead, IpAllowRemoved
from agentos.services import events
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


CHANGED_EVENT = "ipallow.changed"


def forget(runtime: Runtime) -> None:
    cache = _cache(runtime)
    with cache.lock:
        cache.networks = None


def invalidate(session: Session) -> None:
    """This process reads the table again at once; the others when they hear the change."""
    forget(runtime_of(session))
    events.announce(session, CHANGED_EVENT)


def entries(session: Session) -> list[IpAllowEntryRead]:
    rows = session.scalars(select(IpAllowEntry).order_by(IpAllowEntry.cidr))
    return [
        IpAllowEntryRead(
            cidr=row.cidr, note=row.note, created_by=row.created_by, created_at=row.created_at
        )
        for row in rows
    ]


def add(session: Session, *, cidr: str, note: str | None, actor: Actor) -> IpAllowEntryRead:
    network = str(ipaddress.ip_network(cidr, strict=False))
    row = session.scalars(select(IpAllowEntry).where(IpAllowEntry.cidr == network)).first()
    if row is None:
        row = IpAllowEntry(cidr=network, note=note, created_by=actor.name)
        session.add(row)
    elif note is not None:
        row.note = note
    session.flush()
    invalidate(session)
    return IpAllowEntryRead(
        cidr=row.cidr, note=row.note, created_by=row.created_by, created_at=row.created_at
    )


def remove(session: Session, *, cidr: str) -> IpAllowRemoved:
    network = str(ipaddress.ip_network(cidr, strict=False))
    removed = session.execute(delete(IpAllowEntry).where(IpAllowEntry.cidr == network))
    session.flush()
    invalidate(session)
    return IpAllowRemoved(cidr=network, removed=bool(getattr(removed, "rowcount", 0)))


def handle_change(runtime: Runtime, change: dict[str, object]) -> None:
    if change.get("kind") == CHANGED_EVENT:
        forget(runtime)


@lru_cache(maxsize=4096)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parsed once per address: every admin request asks."""
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def is_allowed(runtime: Runtime, ip: str | None, *, session: Session | None = None) -> bool:
    """Whether `ip` may use the admin endpoints; reads the table (through `session`, else a
    session of its own) only when the configured networks do not admit it and the cached
    table is stale."""
    if not ip:
        return False
    address = _address(ip)
    if address is None:
        return False
    if _configured_admits(ip, tuple(runtime.settings.admin_ip_allowlist)):
        return True
    return any(address in network for network in _table_networks(runtime, session))


@lru_cache(maxsize=4096)
def _configured_admits(ip: str, cidrs: tuple[str, ...]) -> bool:
    """Whether the configured networks admit `ip` (a containment test per network is
    slow in `ipaddress`, and the same few callers ask on every admin request)."""
    address = _address(ip)
    return address is not None and any(address in network for network in parse_networks(cidrs))


def require_allowed(runtime: Runtime, actor: Actor, *, session: Session | None = None) -> None:
    if actor.source in EXEMPT_SOURCES:
        return
    if not is_allowed(runtime, actor.ip, session=session):
        raise ForbiddenError(
            f"admin actions are not allowed from {actor.ip or 'an unknown address'}",
            code="IP_NOT_ALLOWED",
            details={"ip": actor.ip},
        )


def require_action_allowed(runtime: Runtime, actor: Actor, action: str) -> None:
    """An action's own networks (`action_ip_restrictions`), on top of the allow-list."""
    cidrs = runtime.settings.action_ip_restrictions.get(action)
    if not cidrs or actor.source in EXEMPT_SOURCES:
        return
    try:
        address = ipaddress.ip_address(actor.ip or "")
    except ValueError:
        address = None
    if address is None or not any(address in network for network in parse_networks(tuple(cidrs))):
        raise ForbiddenError(
            f"{action} is not allowed from {actor.ip or 'an unknown address'} (allowed: "
            f"{', '.join(cidrs)})",
            code="ACTION_IP_NOT_ALLOWED",
            details={"ip": actor.ip, "action": action},
        )
