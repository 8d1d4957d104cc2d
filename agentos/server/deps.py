"""Request-scoped dependencies, as `Annotated` aliases routes can share."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from agentos.db import begin_ping
from agentos.errors import UnauthenticatedError
from agentos.schemas.common import PageParams
from agentos.services import maintenance, outbox
from agentos.services.backends.base import Backends
from agentos.services.context import Actor
from agentos.services.outbox import Callback
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access, authn
from agentos.settings import Settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_app_backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@contextmanager
def unit_of_work(
    runtime: Runtime, later: list[Callback] | None = None, *, begin_now: bool = False
) -> Iterator[Session]:
    """One transaction of a request, committed at its end: the boundary's only commit.

    Given `later`, what may wait until the answer is sent goes there instead of running:
    the after-commit callbacks (bus events, task dispatch) and then closing the session.
    The caller runs it (`outbox.run_all`), also when this raises.
    `begin_now`: for work sure to use the database (an admin action, which is audited
    whatever happens), the connection is checked out at once and its pre-ping is the
    transaction's BEGIN (db/begin_ping.py): a round trip less."""
    session = runtime.open_session()
    if later is not None:
        outbox.defer_to(session, later)
    try:
        if begin_now:
            begin_ping.check_out_begun(session)
        yield session
        session.commit()
    except BaseException:
        # A failed login or a refresh-token reuse must be remembered although the request fails.
        try:
            if session.info.pop(authn.KEEP_ON_ERROR, False):
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
        raise
    if later is None:
        session.close()
    else:  # returning the connection to the pool first: the callbacks do not need it
        later.insert(0, session.close)


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with unit_of_work(get_runtime(request)) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A session that only reads, rolled back at the end: on SQLite it takes no write lock,
    so a read of many statements does not hold up the writers meanwhile."""
    with get_runtime(request).read_session() as session:
        yield session


def get_trace_id(request: Request) -> str | None:
    trace_id: str | None = getattr(request.state, "trace_id", None)
    return trace_id


# The dependencies' getters are async: FastAPI runs a plain `def` dependency on the thread
# pool, a thread hop per request even for a getter of the app's state.


async def _settings(request: Request) -> Settings:
    return get_app_settings(request)


async def _runtime(request: Request) -> Runtime:
    return get_runtime(request)


async def _backends(request: Request) -> Backends:
    return get_app_backends(request)


async def _trace_id(request: Request) -> str | None:
    return get_trace_id(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
BackendsDep = Annotated[Backends, Depends(_backends)]
# scope="function": the commit happens when the route returns, before the response leaves.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
TraceIdDep = Annotated[str | None, Depends(_trace_id)]


@lru_cache(maxsize=64)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _trusted(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def resolve_client_ip(peer: str, forwarded_for: list[str], trusted_proxies: list[str]) -> str:
    """The socket peer, or, behind trusted proxies, the right-most untrusted forwarded hop.

    Hops are read right to left because only the part appended by our own proxies can be
    believed; anything further left was written by the client and may be forged.
    """
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # garbage in the chain: trust nothing beyond our proxy
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def client_ip(request: Request) -> str:
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else "unknown"
    if not settings.trusted_proxies:  # no proxy of ours: the peer is the client
        return peer
    return resolve_client_ip(
        peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies
    )


def bearer_or_none(authorization: str | None) -> str | None:
    scheme, _, credential = (authorization or "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def bearer_credential(request: Request) -> str:
    credential = bearer_or_none(request.headers.get("authorization"))
    if credential is None:
        raise UnauthenticatedError(
            "Authentication required: send Authorization: Bearer <token>", code="AUTH_REQUIRED"
        )
    return credential


def current_actor(request: Request, session: SessionDep) -> Actor:
    """The authenticated caller (access JWT or API key), with where the request came from."""
    return _as_seen_in(request, authn.authenticate(session, bearer_credential(request)))


def _as_seen_in(request: Request, actor: Actor) -> Actor:
    """The actor with where the request came from."""
    return replace(
        actor,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        trace_id=get_trace_id(request),
    )


CurrentActorDep = Annotated[Actor, Depends(current_actor)]


async def current_actor_cached(request: Request) -> Actor:
    """The caller as `current_actor` finds it, but from the verified tokens and accounts
    `admin_access` keeps for a few seconds (a revocation announced on the bus drops them at
    once), and never in a write transaction: a route that would otherwise only read its
    caller (an upload chunk) then takes no SQLite write lock before its own short one."""
    runtime, credential = get_runtime(request), bearer_credential(request)
    actor = admin_access.cached_actor(runtime, credential)
    if actor is None:
        actor = await run_in_threadpool(admin_access.authenticate, runtime, credential)
    return _as_seen_in(request, actor)


CachedActorDep = Annotated[Actor, Depends(current_actor_cached)]
# A page's query parameters as a model (no thread hop, as a class dependency would take).
PagingDep = Annotated[PageParams, Query()]


async def in_one_hop(request: Request, read: Callable[[Session], T], *, writes: bool = False) -> T:
    """`read(session)` on a read session, session and all in one hop to the thread pool
    (a route taking `ReadSessionDep` hops there to open it, again to run, again to close).
    `writes`: it may write too (an agent's records create the default agents the first
    time), so it runs in one unit of work instead."""
    runtime = get_runtime(request)

    def run() -> T:
        with unit_of_work(runtime) if writes else runtime.read_session() as session:
            return read(session)

    return await run_in_threadpool(run)


async def _client_ip(request: Request) -> str:
    return client_ip(request)


ClientIpDep = Annotated[str, Depends(_client_ip)]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def refuse_writes_in_maintenance(request: Request) -> None:
    """User writes answer 503 MAINTENANCE (with Retry-After) while maintenance is on."""
    if request.method in SAFE_METHODS:
        return
    runtime = get_runtime(request)
    state = maintenance.known_fresh(runtime)
    if state is None:
        state = await run_in_threadpool(maintenance.current, runtime)
    maintenance.refuse_writes(state)


MaintenanceGuard = Depends(refuse_writes_in_maintenance)
