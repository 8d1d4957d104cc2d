"""Exact job totals for list pages, without counting a million rows for each page.

PostgreSQL keeps no row count (MVCC), so `COUNT(*)` over a million jobs reads a whole
index: 50-300 ms, more than the page itself. So:

- lists of every job (staff), by status and creation time or not, add up the rollups (jobs
  per creation hour and status, `rollups`), plus an index count of the partial hours at the
  ends of a time range: exact the moment a job write commits, and a few hundred rows to add
  whatever the number of jobs;
- other lists (one owner's jobs, a title search, an id prefix) are counted, and the count is
  kept in the cache backend; `pagination.total_counted_at` then says when it was taken.
  For `COUNT_TTL_S` it is answered as is; after that, for up to `COUNT_KEEP_S`, it is still
  answered (its `total_counted_at` saying how old it is) while one recount per process runs
  in the background, so only the first page of a list seen for the first time in
  `COUNT_KEEP_S` waits for a count (a title search over a million jobs: 300 ms, against
  10 ms for the page). Job creations and deletions through AgentOS drop the cached
  unfiltered totals once they commit; a filtered one lags by `COUNT_TTL_S` plus a recount.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.jobs import JobFilters
from agentos.services.context import Actor
from agentos.services.jobs import behind, rollups
from agentos.services.outbox import after_commit
from agentos.services.runtime import Runtime, backends_of, runtime_of
from agentos.services.security import roles

logger = logging.getLogger(__name__)

# A count of one list, run on the session it is given (the reader's, or a recount's own).
Counter = Callable[[Session], int]
COUNT_TTL_S = 2.0
COUNT_KEEP_S = 10.0
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
    return cached(session, key, lambda reader: _count(reader, where))


def cached(session: Session, key: str, count: Counter) -> tuple[int, datetime | None]:
    """`count(session)`, or the value it had less than `COUNT_TTL_S` ago under `key` (older,
    up to `COUNT_KEEP_S`: that value, and a recount in the background): (the count, when
    it was taken if it came from the cache, else None)."""
    cache = backends_of(session).cache
    try:
        found = cache.get(key)
    except Exception as exc:  # a cache outage costs a COUNT, not the page
        logger.warning("count cache unavailable: %s", exc)
        return count(session), None
    if found is not None:
        value, taken = json.loads(found)
        counted_at = datetime.fromisoformat(taken)
        if (utcnow() - counted_at).total_seconds() >= COUNT_TTL_S:
            _recount_soon(runtime_of(session), key, count)
        return int(value), counted_at
    return _count_and_keep(session, key, count), None


def _count_and_keep(session: Session, key: str, count: Counter) -> int:
    counted_at = utcnow()
    value = count(session)
    try:
        backends_of(session).cache.set(
            key, json.dumps([value, counted_at.isoformat()]).encode(), ttl_s=COUNT_KEEP_S
        )
    except Exception as exc:
        logger.warning("count cache unavailable: %s", exc)
    return value


def _recount_soon(runtime: Runtime, key: str, count: Counter) -> None:
    """One recount of `key` at a time in this process, on a thread of its own session."""

    def recount(session: Session) -> None:
        _count_and_keep(session, key, count)

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
