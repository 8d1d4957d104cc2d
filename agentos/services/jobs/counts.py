"""Exact job totals for list pages, reused for a moment when the list is unfiltered.

PostgreSQL keeps no row count (MVCC), so `COUNT(*)` over a million jobs reads a whole
index: 50-300 ms, most of a history page. The unfiltered listings (staff: every job; anyone:
one owner's jobs) are the ones opened all the time, so their exact count is kept in the
cache backend for `COUNT_TTL_S` seconds and `pagination.total_counted_at` says when it was
taken. Job creations and deletions through AgentOS drop the cached totals once they commit,
so within a deployment the number only lags behind rows written outside AgentOS (a bulk seed,
manual SQL) or a count racing a concurrent creation, never by more than `COUNT_TTL_S`.
Filtered lists (status, dates, search, id prefix) are counted for every response.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.jobs import JobFilters
from agentos.services.context import Actor
from agentos.services.outbox import after_commit
from agentos.services.runtime import backends_of
from agentos.services.security import roles

logger = logging.getLogger(__name__)

COUNT_TTL_S = 2.0
_PREFIX = "jobs:count:"


def cache_key(owner_id: uuid.UUID | None) -> str:
    return f"{_PREFIX}{owner_id or 'all'}"


def _cacheable(actor: Actor, filters: JobFilters) -> str | None:
    """The cache key when the list is "all jobs" or "one owner's jobs", else None."""
    if (
        filters.status
        or filters.created_from
        or filters.created_to
        or filters.search
        or filters.id_prefix
    ):
        return None
    if roles.sees_all_jobs(actor.role):
        return cache_key(filters.owner_id)
    return cache_key(actor.id) if actor.id is not None else None


def total(
    session: Session, *, actor: Actor, filters: JobFilters, where: list[ColumnElement[bool]]
) -> tuple[int, datetime | None]:
    """(exact total, when it was counted if it came from the cache, else None)."""
    key = _cacheable(actor, filters)
    if key is None:
        return _count(session, where), None
    cache = backends_of(session).cache
    try:
        cached = cache.get(key)
    except Exception as exc:  # a cache outage costs a COUNT, not the page
        logger.warning("job count cache unavailable: %s", exc)
        return _count(session, where), None
    if cached is not None:
        value, counted_at = json.loads(cached)
        return int(value), datetime.fromisoformat(counted_at)
    counted_at = utcnow()
    value = _count(session, where)
    try:
        cache.set(key, json.dumps([value, counted_at.isoformat()]).encode(), ttl_s=COUNT_TTL_S)
    except Exception as exc:
        logger.warning("job count cache unavailable: %s", exc)
    return value, None


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(Job).where(*where)) or 0


def forget_after_commit(session: Session, *owner_ids: uuid.UUID | None) -> None:
    """Drop the cached totals a creation or deletion changes, once it is committed."""
    keys = {cache_key(None), *(cache_key(owner) for owner in owner_ids if owner is not None)}
    cache = backends_of(session).cache

    def forget() -> None:
        cache.delete(*keys)

    after_commit(session, forget)
