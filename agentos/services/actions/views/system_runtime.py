"""SystemControls view, the running service: system.cache.clear, system.cache.stats,
system.health.check, system.info, system.circuit.list, system.circuit.reset,
system.circuit.trip, system.ratelimit.reset, system.idempotency.purge,
system.lockout.clear, system.storage.usage, system.storage.cleanup,
system.uploads.abort_stale. Breaker and health actions guard no dependency: they must
answer while one is down.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import BreakerRead, NoPayload
from agentos.schemas.actions_system import (
    BreakerNamePayload,
    BreakerTripPayload,
    CacheClearPayload,
    IdempotencyPurgePayload,
    LockoutClearPayload,
    RateLimitResetPayload,
    StorageCleanupPayload,
    UploadsAbortStalePayload,
)
from agentos.schemas.system import (
    BreakerList,
    CacheClearResult,
    CacheStatsRead,
    IdempotencyPurgeResult,
    LockoutClearResult,
    RateLimitResetResult,
    StorageCleanupResult,
    StorageUsage,
    SystemHealth,
    SystemInfo,
    UploadsAbortResult,
)
from agentos.services.actions.registry import ActionContext, action
from agentos.services.system import controls, operations, storage
from agentos.services.uploads import sessions

VIEW = "SystemControls"
FILES = ("database", "storage")


@action(
    "system.cache.clear",
    view=VIEW,
    summary="Delete matching cache keys (default: the SSOT document) in every process",
    payload=CacheClearPayload,
    result=CacheClearResult,
    permission="system:write",
    rate_class="critical",
    dependencies=("cache",),
)
def cache_clear(
    session: Session, payload: CacheClearPayload, ctx: ActionContext
) -> CacheClearResult:
    return controls.clear_cache(session, pattern=payload.pattern, actor=ctx.actor)


@action(
    "system.cache.stats",
    view=VIEW,
    summary="Cache hits, misses, hit rate, keys and memory",
    payload=NoPayload,
    result=CacheStatsRead,
    permission="system:read",
    rate_class="critical",
    dependencies=("cache",),
)
def cache_stats(session: Session, payload: NoPayload, ctx: ActionContext) -> CacheStatsRead:
    return controls.cache_stats(ctx.runtime)


@action(
    "system.health.check",
    view=VIEW,
    summary="Deep check of database, cache, bus, broker, rate limiter, workers and disk, "
    "with the latency of each",
    payload=NoPayload,
    result=SystemHealth,
    permission="system:read",
    rate_class="critical",
    dependencies=(),
)
def health_check(session: Session, payload: NoPayload, ctx: ActionContext) -> SystemHealth:
    return operations.deep_health(session, runtime=ctx.runtime)


@action(
    "system.info",
    view=VIEW,
    summary="Versions, uptime, backends in use and the configuration (secrets masked)",
    payload=NoPayload,
    result=SystemInfo,
    permission="system:read",
    rate_class="critical",
    dependencies=(),
)
def system_info(session: Session, payload: NoPayload, ctx: ActionContext) -> SystemInfo:
    return operations.info(runtime=ctx.runtime)


@action(
    "system.circuit.list",
    view=VIEW,
    summary="Every circuit breaker with its state, failures and when it opened",
    payload=NoPayload,
    result=BreakerList,
    permission="system:read",
    rate_class="critical",
    dependencies=(),
)
def circuit_list(session: Session, payload: NoPayload, ctx: ActionContext) -> BreakerList:
    return BreakerList(breakers=controls.breakers(ctx.runtime))


@action(
    "system.circuit.reset",
    view=VIEW,
    summary="Force a breaker CLOSED in every process",
    payload=BreakerNamePayload,
    result=BreakerRead,
    permission="system:write",
    rate_class="critical",
    dependencies=(),
)
def circuit_reset(session: Session, payload: BreakerNamePayload, ctx: ActionContext) -> BreakerRead:
    return controls.force_breaker(session, name=payload.name, state="closed", actor=ctx.actor)


@action(
    "system.circuit.trip",
    view=VIEW,
    summary="Force a breaker OPEN in every process (planned maintenance of a dependency); "
    "it stays open until reset",
    payload=BreakerTripPayload,
    result=BreakerRead,
    permission="system:write",
    rate_class="critical",
    dangerous=True,
    dependencies=(),
)
def circuit_trip(session: Session, payload: BreakerTripPayload, ctx: ActionContext) -> BreakerRead:
    if ctx.dry_run:
        return next(item for item in controls.breakers(ctx.runtime) if item.name == payload.name)
    return controls.force_breaker(session, name=payload.name, state="open", actor=ctx.actor)


@action(
    "system.ratelimit.reset",
    view=VIEW,
    summary="Clear rate-limit counters (of one user and/or one action; all when unfiltered)",
    payload=RateLimitResetPayload,
    result=RateLimitResetResult,
    permission="system:write",
    rate_class="critical",
    dependencies=(),
)
def ratelimit_reset(
    session: Session, payload: RateLimitResetPayload, ctx: ActionContext
) -> RateLimitResetResult:
    return controls.reset_limits(
        session, user_id=payload.user_id, action=payload.action, actor=ctx.actor
    )


@action(
    "system.idempotency.purge",
    view=VIEW,
    summary="Remove stored idempotency records (all, or those older than older_than_s)",
    payload=IdempotencyPurgePayload,
    result=IdempotencyPurgeResult,
    permission="system:write",
    rate_class="critical",
)
def idempotency_purge(
    session: Session, payload: IdempotencyPurgePayload, ctx: ActionContext
) -> IdempotencyPurgeResult:
    return controls.purge_idempotency(session, older_than_s=payload.older_than_s)


@action(
    "system.lockout.clear",
    view=VIEW,
    summary="Let an IP locked out after failed logins in again",
    payload=LockoutClearPayload,
    result=LockoutClearResult,
    permission="system:write",
    rate_class="critical",
)
def lockout_clear(
    session: Session, payload: LockoutClearPayload, ctx: ActionContext
) -> LockoutClearResult:
    return controls.clear_lockout(session, ip=payload.ip)


@action(
    "system.storage.usage",
    view=VIEW,
    summary="Bytes and files under uploads, clips, thumbnails and backups; free disk",
    payload=NoPayload,
    result=StorageUsage,
    permission="system:read",
    rate_class="critical",
    dependencies=("storage",),
)
def storage_usage(session: Session, payload: NoPayload, ctx: ActionContext) -> StorageUsage:
    return storage.usage(ctx.settings)


@action(
    "system.storage.cleanup",
    view=VIEW,
    summary="Remove orphaned files and expire upload sessions past their lifetime; dry_run "
    "lists them",
    payload=StorageCleanupPayload,
    result=StorageCleanupResult,
    permission="system:write",
    rate_class="critical",
    dangerous=True,
    dependencies=FILES,
)
def storage_cleanup(
    session: Session, payload: StorageCleanupPayload, ctx: ActionContext
) -> StorageCleanupResult:
    return storage.cleanup(
        session,
        settings=ctx.settings,
        older_than_days=payload.older_than_days,
        dry_run=ctx.dry_run,
    )


@action(
    "system.uploads.abort_stale",
    view=VIEW,
    summary="Abort upload sessions idle for older_than_minutes and remove their chunks",
    payload=UploadsAbortStalePayload,
    result=UploadsAbortResult,
    permission="system:write",
    rate_class="critical",
    dependencies=FILES,
)
def uploads_abort_stale(
    session: Session, payload: UploadsAbortStalePayload, ctx: ActionContext
) -> UploadsAbortResult:
    aborted = sessions.abort_stale(session, older_than_s=payload.older_than_minutes * 60)
    return UploadsAbortResult(aborted=aborted, older_than_minutes=payload.older_than_minutes)
