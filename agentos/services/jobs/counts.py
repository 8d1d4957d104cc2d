"""Exact job totals for list pages, without counting a million rows for each page.

PostgreSQL keeps no row count (MVCC), so `COUNT(*)` over a million jobs reads a whole
index: 50-300 ms, more than the page itself. So:

- lists of every job (staff), by status and creation time or not, add up the rollups (jobs
  per creation hour and status, `rollups`), plus an index count of the partial hours at the
  ends of a time range: exact the moment a job write commits, and a few hundred rows to add
  whatever the number of jobs;
- other lists (one owner's jobs, a title search, an id prefix) are counted, and the count is
  kept in the cache backend; `pagination.total_counted_at` then says when it was last known
  exact. For `COUNT_TTL_S` it is answered as is. After that, a job list's count taken with
  the job deltas' `stamps.stamp` is answered again for as long as the stamp is unchanged
  (no job created, deleted or changed in a filtered column since: the triggers add a delta
  in the writer's own transaction; a running job's progress does not), up to `COUNT_TRUST_S`, so a quiet list is counted once,
  not every few seconds (a title search over a million jobs is a 300 ms scan of both
  cores). Otherwise, for up to `COUNT_KEEP_S`, it is still answered while one recount per
  process runs in the background, so only the first page of a list seen for the first
  time in `COUNT_KEEP_S` waits for a count (a title search over a million jobs: 300 ms,
  against 10 ms for the page). Job creations and deletions through AgentOS drop the
  cached unfiltered totals once they commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.jobs import JobFilters
from agentos.services.context import Actor
from agentos.services.jobs import behind, rollups, stamps
from agentos.services.outbox import after_commit
from agentos.services.runtime import Runtime, backends_of, runtime_of
from agentos.services.security import roles

logger = logging.getLogger(__name__)

# A count of one list, run on the session it is given (the reader's, or a recount's own).
Counter = Callable[[Session], int]
COUNT_TTL_S = 2.0
COUNT_KEEP_S = 10.0
COUNT_TRUST_S = 60.0  # as `anchors.MAX_AGE_S`: what a write with the triggers off could leave
_PREFIX = "jobs:count:"


def cache_key(owner_id: uuid.UUID | None) -> str:
    return f"{_PREFIX}{owner_id or 'all'}"


def from_rollups(actor: Actor, filters: JobFilters) -> bool:
    """Whether the rollups answer: every job (no owner), by status and creation time only."""
    return (
        roles.sees_all_jobs(actor.role)
        and filters.owner_id is None
        and not filters.search
        and not filters.id_prefix
    )


def _cache_key(actor: Actor, filters: JobFilters) -> str | None:
    """Unfiltered lists keep the key `forget_after_commit` drops; filtered ones add a digest
    of their filters (and expire on their own)."""
    owner = filters.owner_id if roles.sees_all_jobs(actor.role) else actor.id
    if owner is None and not roles.sees_all_jobs(actor.role):
        return None
    base = cache_key(owner)
    shown = filters.model_dump(
        mode="json", exclude={"sort", "order", "owner_id"}, exclude_none=True
    )
    if not shown:
        return base
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:16]
    return f"{base}:{digest}"


def total(
    session: Session, *, actor: Actor, filters: JobFilters, where: list[ColumnElement[bool]]
) -> tuple[int, datetime | None]:
    """(exact total, when it was counted if it came from the cache, else None)."""
    if from_rollups(actor, filters):
        return _rollup_total(session, filters), None
    key = _cache_key(actor, filters)
    if key is None:
        return _count(session, where), None
    return cached(session, key, lambda reader: _count(reader, where), stamped=True)


def cached(
    session: Session, key: str, count: Counter, *, stamped: bool = False
) -> tuple[int, datetime | None]:
    """`count(session)`, or the value it had less than `COUNT_TTL_S` ago under `key` (older,
    up to `COUNT_KEEP_S`: that value, and a recount in the background): (the count, when
    it was last known exact if it came from the cache, else None). `stamped`: the count
    depends on nothing but the jobs' rows and the columns the job deltas mark, so while
    `stamps.stamp` is unchanged it is still exact and is not recounted."""
    cache = backends_of(session).cache
    try:
        found = cache.get(key)
    except Exception as exc:  # a cache outage costs a COUNT, not the page
        logger.warning("count cache unavailable: %s", exc)
        return count(session), None
    if found is None:
        return _count_and_keep(session, key, count, stamped=stamped), None
    kept = _Kept.loads(found)
    now = utcnow()
    if (now - kept.checked_at).total_seconds() < COUNT_TTL_S:
        return kept.value, kept.checked_at
    if kept.still_exact(session, now):
        _keep(session, key, replace(kept, checked_at=now))
        return kept.value, now
    _recount_soon(runtime_of(session), key, count, stamped=stamped)
    return kept.value, kept.checked_at


@dataclass(frozen=True)
class _Kept:
    """A count in the cache: taken at `counted_at` with the deltas at `stamp` (None: not a
    job count, or the deltas could not vouch), last known exact at `checked_at`."""

    value: int
    checked_at: datetime
    counted_at: datetime
    stamp: stamps.Stamp | None

    @classmethod
    def loads(cls, raw: bytes) -> _Kept:
        value, checked, *rest = json.loads(raw)
        counted, stamp = rest if rest else (checked, None)
        return cls(
            int(value),
            datetime.fromisoformat(checked),
            datetime.fromisoformat(counted),
            tuple(stamp) if stamp is not None else None,
        )

    def dumps(self) -> bytes:
        return json.dumps(
            [self.value, self.checked_at.isoformat(), self.counted_at.isoformat(), self.stamp]
        ).encode()

    def still_exact(self, session: Session, now: datetime) -> bool:
        return (
            self.stamp is not None
            and (now - self.counted_at).total_seconds() < COUNT_TRUST_S
            and stamps.stamp(session) == self.stamp
        )


def _count_and_keep(session: Session, key: str, count: Counter, *, stamped: bool) -> int:
    counted_at = utcnow()
    # Read before the count: a write committed in between changes it, never the reverse.
    stamp = stamps.stamp(session) if stamped else None
    value = count(session)
    _keep(session, key, _Kept(value, counted_at, counted_at, stamp))
    return value


def _keep(session: Session, key: str, kept: _Kept) -> None:
    try:
        backends_of(session).cache.set(key, kept.dumps(), ttl_s=COUNT_KEEP_S)
    except Exception as exc:
        logger.warning("count cache unavailable: %s", exc)


def _recount_soon(runtime: Runtime, key: str, count: Counter, *, stamped: bool) -> None:
    """One recount of `key` at a time in this process, on a thread of its own session."""

    def recount(session: Session) -> None:
        _count_and_keep(session, key, count, stamped=stamped)

    behind.soon(runtime, key, recount)


def _hour(moment: datetime, *, up: bool) -> datetime:
    floor = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor + timedelta(hours=1) if up and floor != moment else floor


def _rollup_total(session: Session, filters: JobFilters) -> int:
    """Whole hours from the rollups; the partial hours at either end of a time range are
    counted on the (status,) created_at index: at most two hours of rows."""
    statuses = [status.value for status in filters.status] if filters.status else None
    start, end = filters.created_from, filters.created_to
    by_status = [Job.status.in_(statuses)] if statuses else []
    if start is not None and end is not None and _hour(start, up=True) >= _hour(end, up=False):
        # Within an hour or two: no whole hour to take from the rollups.
        return _count(session, [*by_status, Job.created_at >= start, Job.created_at < end])
    since = _hour(start, up=True) if start is not None else None
    until = _hour(end, up=False) if end is not None else None
    result = rollups.created_count(session, statuses=statuses, since=since, until=until)
    if start is not None and since is not None and start < since:
        result += _count(session, [*by_status, Job.created_at >= start, Job.created_at < since])
    if end is not None and until is not None and until < end:
        result += _count(session, [*by_status, Job.created_at >= until, Job.created_at < end])
    return result


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(Job).where(*where)) or 0


def forget_after_commit(session: Session, *owner_ids: uuid.UUID | None) -> None:
    """Drop the cached totals a creation or deletion changes, once it is committed."""
    keys = {cache_key(None), *(cache_key(owner) for owner in owner_ids if owner is not None)}
    cache = backends_of(session).cache

    def forget() -> None:
        cache.delete(*keys)

    after_commit(session, forget)
