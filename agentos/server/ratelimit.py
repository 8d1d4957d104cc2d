"""HTTP rate-limit tiers (seed): public, user, admin read, admin action.

| tier         | limit (default)      | counted per |
|--------------|----------------------|-------------|
| public       | 10/min               | client IP   |
| user         | 100/min              | user        |
| admin_read   | 500/min              | user        |
| admin_action | 50/min               | user        |

"Burst tolerance: 2x normal rate for 10 seconds" is read as a second, shorter limit
checked together with the per-minute one: within any `ratelimit_burst_window_s` (10 s) a
client may go at `ratelimit_burst_factor` (2x) its per-minute rate, i.e.
ceil(per_min * 10/60 * 2) requests, but never more than per_min within the minute. So
the public tier allows 4 requests in 10 s and 10 in a minute; the user tier 34 and 100.
A burst factor of 0 turns the short window off.

Both windows are sliding windows kept by `runtime.backends.limiter`: atomic in Redis
(shared by every server process) or in-process when embedded. On Redis each process leases
permits in small, adaptive batches and spends them locally (`backends/allowance.py`), so a
busy client costs a round trip per batch instead of two per request; the shared limit still
holds (see that module for the exact tolerance; limits under 40 are never batched). If the
limiter itself is unreachable each process limits by itself (an in-process limiter with
the same windows), so an outage degrades the limits to per-process ones, never to none;
`/health` reports the shared limiter's state.

Attach with `dependencies=[PublicRateLimit]` (or the user and upload tiers); the admin
routes call `limit_actor` after their own authentication. Successful
responses carry `RateLimit` and `RateLimit-Policy`; a refusal is a RateLimitedError, which
server/errors.py turns into 429 with `Retry-After` and the same headers.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from agentos import telemetry
from agentos.errors import RateLimitedError, UnavailableError
from agentos.server.deps import (
    BackendsDep,
    CachedActorDep,
    SettingsDep,
    client_ip,
)
from agentos.services.backends.allowance import admit
from agentos.services.backends.base import Backends, RateDecision
from agentos.services.backends.embedded_limiter import EmbeddedRateLimiter
from agentos.services.context import Actor
from agentos.settings import RateAlgorithm, Settings

logger = logging.getLogger(__name__)

Tier = Literal["public", "user", "upload", "admin_read", "admin_action"]
MINUTE_S = 60
STATE_KEY = "ratelimit_headers"
FALLBACK_KEY = "http_fallback_limiter"


@dataclass(frozen=True)
class Window:
    limit: int
    window_s: int
    suffix: str
    algorithm: RateAlgorithm = "sliding_window"


def windows(settings: Settings, tier: Tier) -> tuple[Window, ...]:
    """The limits one request of `tier` is checked against: the tier's policy when one is
    set (ratelimit.policy.set), else the minute and the burst windows."""
    policy = settings.rate_limit_policies.get(tier)
    if policy is not None:
        return (Window(policy.limit, policy.window_s, ":policy", policy.algorithm),)
    return _minute_and_burst(
        getattr(settings, _PER_MIN[tier]),
        settings.ratelimit_burst_factor,
        settings.ratelimit_burst_window_s,
    )


_PER_MIN: dict[str, str] = {tier: f"ratelimit_{tier}_per_min" for tier in get_args(Tier)}


@lru_cache(maxsize=256)
def _minute_and_burst(per_min: int, burst_factor: float, burst_s: int) -> tuple[Window, ...]:
    # Settings change at run time (config.set), so this is cached by value, not by tier.
    minute = Window(per_min, MINUTE_S, "")
    if burst_factor <= 0:
        return (minute,)
    share = per_min * burst_s / MINUTE_S * burst_factor
    burst = min(per_min, max(1, math.ceil(share)))
    return (minute, Window(burst, burst_s, ":burst")) if burst < per_min else (minute,)


def enforce(
    request: Request, settings: Settings, backends: Backends, *, tier: Tier, subject: str
) -> None:
    """Count one request of `subject` in `tier`; RateLimitedError when over any window."""
    decisions: list[tuple[Window, RateDecision]] = []
    # Burst window first: a request it refuses then costs nothing from the minute's quota.
    for window in reversed(windows(settings, tier)):
        key = f"http:{tier}:{subject}{window.suffix}"
        try:
            decision = admit(
                backends,
                key,
                limit=window.limit,
                window_s=window.window_s,
                algorithm=window.algorithm,
            )
        except UnavailableError:
            # The shared limiter is down: degrade to limits per process, never to none.
            logger.warning("shared rate limiter unavailable; limiting %s in this process", key)
            decision = fallback(backends).hit(key, limit=window.limit, window_s=window.window_s)
        if not decision.allowed:
            telemetry.rate_limit_refused(tier)
            raise RateLimitedError(
                f"Rate limit exceeded: {window.limit} requests per {window.window_s} s",
                retry_after_s=decision.retry_after_s,
                limit=window.limit,
                window_s=window.window_s,
                details={"tier": tier, "retry_after_s": math.ceil(decision.retry_after_s)},
            )
        decisions.append((window, decision))
    decisions.reverse()
    request.state.ratelimit_headers = _headers(decisions)


def fallback(backends: Backends) -> EmbeddedRateLimiter:
    """This process's own limiter, used while the shared one is unreachable."""
    found = backends.extras.get(FALLBACK_KEY)
    if not isinstance(found, EmbeddedRateLimiter):
        found = backends.extras[FALLBACK_KEY] = EmbeddedRateLimiter()
    return found


def _headers(decisions: list[tuple[Window, RateDecision]]) -> dict[str, str]:
    # The tightest window is the one the client should pace itself by.
    window, tightest = decisions[0]
    for candidate in decisions[1:]:
        if candidate[1].remaining < tightest.remaining:
            window, tightest = candidate
    reset = max(0, math.ceil(tightest.reset_s))
    return {
        "RateLimit": f"limit={window.limit}, remaining={max(0, tightest.remaining)}, reset={reset}",
        "RateLimit-Policy": _policy(tuple(window for window, _ in decisions)),
    }


@lru_cache(maxsize=256)
def _policy(checked: tuple[Window, ...]) -> str:
    return ", ".join(f"{window.limit};w={window.window_s}" for window in checked)


@lru_cache(maxsize=4096)
def _id_text(actor_id: uuid.UUID) -> str:
    return str(actor_id)


def _actor_subject(actor: Actor) -> str:
    return _id_text(actor.id) if actor.id is not None else f"name:{actor.name}"


def limit_actor(request: Request, actor: Actor, tier: Tier) -> None:
    """Count one request of an authenticated actor in `tier` (the admin routes authenticate
    with their own cached path, so they call this instead of a dependency)."""
    state = request.app.state
    enforce(request, state.settings, state.backends, tier=tier, subject=_actor_subject(actor))


async def _enforced(
    request: Request, settings: Settings, backends: Backends, *, tier: Tier, subject: str
) -> None:
    """`enforce` from a request dependency: on the event loop when the limiter is this
    process's (no I/O), else on the thread pool, so that a Redis that hangs holds up
    threads, never the loop."""
    if backends.kind == "redis":
        await run_in_threadpool(enforce, request, settings, backends, tier=tier, subject=subject)
    else:
        enforce(request, settings, backends, tier=tier, subject=subject)


async def public_rate_limit(request: Request, settings: SettingsDep, backends: BackendsDep) -> None:
    await _enforced(request, settings, backends, tier="public", subject=client_ip(request))


async def user_rate_limit(
    request: Request, settings: SettingsDep, backends: BackendsDep, actor: CachedActorDep
) -> None:
    await _enforced(request, settings, backends, tier="user", subject=_actor_subject(actor))


async def upload_rate_limit(
    request: Request, settings: SettingsDep, backends: BackendsDep, actor: CachedActorDep
) -> None:
    await _enforced(request, settings, backends, tier="upload", subject=_actor_subject(actor))


PublicRateLimit = Depends(public_rate_limit)
UserRateLimit = Depends(user_rate_limit)
UploadRateLimit = Depends(upload_rate_limit)
