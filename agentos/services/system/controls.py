"""Circuit breakers, rate limits, idempotency records, lockouts and the cache, by hand.

On Redis these states are shared already. Embedded, breakers, limiter windows and the
cache live in each process, so every change is also announced on the bus and applied by
every process that follows it (`handle_change`, registered by the server), and a breaker
tripped by hand is kept in the runtime settings so a process that starts later obeys it
too (`apply_forced_breakers`).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy.orm import Session

from agentos.db.models import RuntimeSetting
from agentos.schemas.actions import BreakerRead
from agentos.schemas.system import (
    CacheClearResult,
    CacheStatsRead,
    IdempotencyPurgeResult,
    LockoutClearResult,
    RateLimitResetResult,
)
from agentos.services import admin_data, config, events, maintenance
from agentos.services.backends import breaker
from agentos.services.context import Actor
from agentos.services.runtime import Runtime, runtime_of
from agentos.services.security import admin_access, lockout

logger = logging.getLogger(__name__)
FORCED_BREAKERS_KEY = "system.breakers.forced"
BREAKER_FORCED = "system.breaker_forced"
LIMITS_RESET = "system.limits_reset"
CACHE_CLEARED = "system.cache_cleared"
RESTORED = "system.restored"


# --- breakers ------------------------------------------------------------------------------


def breakers(runtime: Runtime) -> list[BreakerRead]:
    return [_read(state) for state in breaker.list_breakers(runtime.backends.breakers)]


def _read(state: breaker.BreakerState) -> BreakerRead:
    return BreakerRead(
        name=state.name,
        state=state.state,
        failures=state.failures,
        opened_at=state.opened_at,
        probes=state.probes,
        forced=state.forced,
    )


def force_breaker(
    session: Session, *, name: str, state: Literal["closed", "open"], actor: Actor
) -> BreakerRead:
    """Trip (planned maintenance of a dependency) or reset one breaker, everywhere."""
    store = runtime_of(session).backends.breakers
    changed = breaker.trip(store, name) if state == "open" else breaker.reset(store, name)
    forced = dict(_forced(session))
    if state == "open":
        forced[name] = "open"
    else:
        forced.pop(name, None)
    config.put(session, key=FORCED_BREAKERS_KEY, value=forced, actor=actor)
    events.announce(session, BREAKER_FORCED, name=name, state=state, by=actor.name)
    return _read(changed)


def _forced(session: Session) -> dict[str, str]:
    row = session.get(RuntimeSetting, FORCED_BREAKERS_KEY)
    value = row.value if row is not None else None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def apply_forced_breakers(runtime: Runtime) -> None:
    """A starting process obeys the breakers tripped by hand before it started."""
    try:
        with runtime.read_session() as session:
            forced = _forced(session)
    except Exception:  # no database yet: nothing was tripped that it could know of
        logger.warning("could not read the breakers tripped by hand", exc_info=True)
        return
    for name in forced:
        if name in breaker.DEPENDENCIES:
            runtime.backends.breakers.force(name, "open")


# --- rate limits, idempotency, lockouts ----------------------------------------------------


def limit_pattern(*, user_id: object | None, action: str | None) -> str:
    """The limiter keys to clear: admin actions are `action:<scope>:<name>`, HTTP tiers
    `http:<tier>:<subject>...`; no filter clears both."""
    if user_id is None and action is None:
        return "*"
    scope = f"user:{user_id}" if user_id is not None else "*"
    return f"action:{scope}:{action or '*'}"


def reset_limits(
    session: Session, *, user_id: object | None, action: str | None, actor: Actor
) -> RateLimitResetResult:
    pattern = limit_pattern(user_id=user_id, action=action)
    runtime = runtime_of(session)
    cleared = runtime.backends.limiter.reset(pattern)
    if user_id is not None and action is None:
        cleared += runtime.backends.limiter.reset(f"http:*:{user_id}*")
    events.announce(session, LIMITS_RESET, pattern=pattern, user_id=user_id, by=actor.name)
    return RateLimitResetResult(pattern=pattern, cleared=cleared)


def purge_idempotency(session: Session, *, older_than_s: int | None) -> IdempotencyPurgeResult:
    store = runtime_of(session).backends.idempotency
    purged = store.purge(session, older_than_s=older_than_s)
    return IdempotencyPurgeResult(older_than_s=older_than_s, purged=purged)


def clear_lockout(session: Session, *, ip: str) -> LockoutClearResult:
    return LockoutClearResult(ip=ip, cleared=lockout.clear_ip(session, ip=ip))


# --- cache ---------------------------------------------------------------------------------


def clear_cache(session: Session, *, pattern: str | None, actor: Actor) -> CacheClearResult:
    runtime = runtime_of(session)
    chosen = pattern or runtime.settings.ssot_cache_key
    deleted = _clear_here(runtime, chosen)
    events.announce(session, CACHE_CLEARED, pattern=chosen, by=actor.name)
    return CacheClearResult(pattern=chosen, deleted=deleted)


def _clear_here(runtime: Runtime, pattern: str) -> int:
    cache = runtime.backends.cache
    deleted = cache.delete_pattern(pattern) if _is_glob(pattern) else cache.delete(pattern)
    admin_data.store_for(runtime).invalidate()
    return deleted


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def cache_stats(runtime: Runtime) -> CacheStatsRead:
    cache = runtime.backends.cache
    stats = cache.stats()
    return CacheStatsRead(
        backend=cache.name,
        shared=not runtime.settings.is_embedded,
        hits=stats.hits,
        misses=stats.misses,
        hit_rate=round(stats.hit_rate, 4),
        keys=stats.keys,
        memory_bytes=stats.memory_bytes,
    )


# --- other processes -----------------------------------------------------------------------


def handle_change(runtime: Runtime, change: dict[str, Any]) -> None:
    """Apply a change another process announced to this process's own state (embedded:
    breakers, limiter windows and cache are per process; on Redis this repeats a shared
    change, which is harmless)."""
    kind = change.get("kind")
    if kind == BREAKER_FORCED and change.get("name") in breaker.DEPENDENCIES:
        state: Literal["closed", "open"] = "open" if change.get("state") == "open" else "closed"
        runtime.backends.breakers.force(str(change["name"]), state)
    elif kind == LIMITS_RESET and runtime.settings.is_embedded:
        runtime.backends.limiter.reset(str(change.get("pattern") or "*"))
    elif kind == CACHE_CLEARED and runtime.settings.is_embedded:
        _clear_here(runtime, str(change.get("pattern") or runtime.settings.ssot_cache_key))
    elif kind == RESTORED:  # users, tokens and settings may all differ now
        admin_access.forget_user(runtime)
        maintenance.forget(runtime)
        _clear_here(runtime, runtime.settings.ssot_cache_key)
