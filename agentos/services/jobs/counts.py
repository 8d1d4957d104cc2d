"""Exact job totals for list pages, without counting a million rows for each page.

PostgreSQL keeps no row count (MVCC), so `COUNT(*)` over a million jobs reads a whole
index: 50-300 ms, more than the page itself. So:

- lists of every job (staff), by status and creation time or not, add up the rollups (jobs
  per creation hour and status, `rollups`), plus an index count of the partial hours at the
  ends of a time range: exact the moment a job write commits, and a few hundred rows to add
  whatever the number of jobs;
- other lists (one owner's jobs, a title search, an id prefix) are counted, and the count is
  kept in the cache backend; `pagination.total_counted_at` then says when it was last known
  exact. For `COUNT_TTL_S` it is answered as is. After that, for up to `COUNT_TRUST_S`
  after it was counted, a job list's count is kept exact without counting again: on
  PostgreSQL it was counted with its snapshot, and each answer adds the jobs the marks say
  were written since (created, deleted or changed in a filtered column: `marks.shift`, one
  small statement, exact now); on SQLite it is answered as is while the job deltas'
  `stamps.stamp` is unchanged (a running job's progress does not change it). So a title
  search over a million jobs (a 300 ms scan of both cores) is counted once a minute, not
  every few seconds while jobs are written. Otherwise, for up to `COUNT_KEEP_S`, it is
  still answered while one recount per process runs in the background, so only the first
  page of a list seen for the first time in `COUNT_KEEP_S` waits for a count. Job
  creations and deletions through AgentOS drop the cached unfiltered totals once they
  commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.jobs import JobFilters
from agentos.services.context import Actor
from agentos.services.jobs import behind, marks, rollups, stamps
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
    return cached(session, key, lambda reader: _count(reader, where), jobs_where=where)


def cached(
    session: Session,
    key: str,
    count: Counter,
    *,
    jobs_where: list[ColumnElement[bool]] | None = None,
) -> tuple[int, datetime | None]:
    """`count(session)`, or the value it had less than `COUNT_TTL_S` ago under `key` (older,
    up to `COUNT_KEEP_S`: that value, and a recount in the background): (the count, when
    it was last known exact if it came from the cache, else None). `jobs_where`: `count`
    counts the jobs matching these clauses, so up to `COUNT_TRUST_S` after it was counted
    it is kept exact: on PostgreSQL corrected for the jobs written since (`marks`), on
    SQLite answered as is while `stamps.stamp` is unchanged."""
    cache = backends_of(session).cache
    try:
        found = cache.get(key)
    except Exception as exc:  # a cache outage costs a COUNT, not the page
        logger.warning("count cache unavailable: %s", exc)
        return count(session), None
    if found is None:
        return _count_and_keep(session, key, count, jobs_where), None
    kept = _Kept.loads(found)
    now = utcnow()
    if (now - kept.checked_at).total_seconds() < COUNT_TTL_S:
        return kept.value, kept.checked_at
    trusted = jobs_where is not None and (now - kept.counted_at).total_seconds() < COUNT_TRUST_S
    if trusted and kept.seen is not None:
        corrected = _corrected(session, kept, jobs_where or [], now)
        if corrected is not None:
            _keep(session, key, corrected)
            return corrected.value, None
    elif trusted and kept.stamp is not None and stamps.stamp(session) == kept.stamp:
        _keep(session, key, replace(kept, checked_at=now))
        return kept.value, now
    _recount_soon(runtime_of(session), key, count, jobs_where)
    return kept.value, kept.checked_at


@dataclass(frozen=True)
class _Kept:
    """A count in the cache, exact at `checked_at`, last counted at `counted_at`; for a job
    count, the snapshot it is exact in (`seen`, PostgreSQL) or the deltas' stamp when it was
    counted (`stamp`, SQLite), if any."""

    value: int
    checked_at: datetime
    counted_at: datetime
    stamp: stamps.Stamp | None
    seen: str | None = None

    @classmethod
    def loads(cls, raw: bytes) -> _Kept:
        value, checked, *rest = json.loads(raw)
        counted, stamp, *seen = rest if rest else (checked, None)
        return cls(
            int(value),
            datetime.fromisoformat(checked),
            datetime.fromisoformat(counted),
            tuple(stamp) if stamp is not None else None,
            seen[0] if seen else None,
        )

    def dumps(self) -> bytes:
        fields = [self.value, self.checked_at.isoformat(), self.counted_at.isoformat()]
        return json.dumps([*fields, self.stamp, self.seen]).encode()


def _corrected(
    session: Session, kept: _Kept, where: list[ColumnElement[bool]], now: datetime
) -> _Kept | None:
    """`kept` brought up to now by the jobs written since its snapshot, in one statement
    (with that statement's snapshot); None after a wholesale rebuild (`marks.reset`)."""
    assert kept.seen is not None
    listed = and_(*where) if where else None
    moved, seen, reset = session.execute(
        select(marks.shift(listed, kept.seen), marks.snapshot(), marks.reset_since(kept.seen))
    ).one()
    if reset:
        return None
    return replace(kept, value=kept.value + int(moved), checked_at=now, seen=seen)


def _count_and_keep(
    session: Session, key: str, count: Counter, jobs_where: list[ColumnElement[bool]] | None
) -> int:
    counted_at = utcnow()
    stamp: stamps.Stamp | None = None
    seen: str | None = None
    if jobs_where is not None and marks.correct(session):  # the count and its snapshot
        query = select(func.count(), marks.snapshot()).select_from(Job).where(*jobs_where)
        value, seen = session.execute(query).one()
    else:
        # Read before the count: a write committed in between changes it, never the reverse.
        stamp = stamps.stamp(session) if jobs_where is not None else None
        value = count(session)
    _keep(session, key, _Kept(int(value), counted_at, counted_at, stamp, seen))
    return int(value)


def _keep(session: Session, key: str, kept: _Kept) -> None:
    try:
        backends_of(session).cache.set(key, kept.dumps(), ttl_s=COUNT_KEEP_S)
    except Exception as exc:
        logger.warning("count cache unavailable: %s", exc)


def _recount_soon(
    runtime: Runtime, key: str, count: Counter, jobs_where: list[ColumnElement[bool]] | None
) -> None:
    """One recount of `key` at a time in this process, on a thread of its own session."""

    def recount(session: Session) -> None:
        _count_and_keep(session, key, count, jobs_where)

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
