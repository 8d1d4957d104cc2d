"""Job lists: the filters, the orders on offer, and pages by cursor or by number.

A page after a cursor is one index range whatever its depth (agentos/db/keyset.py): each
order has an index of (its key, id) (agentos/db/models/listing.py), and the owner and status
filters have theirs for the default order (newest first). The total comes from the rollups
or a count reused for a moment (`counts`), never from counting a million rows per page.
A page by number deep in a list leaves out the rows before it that the rollups count (whole
creation hours) or that the list's anchors mark (`anchors`), and skips only the rest.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from agentos.db import keyset
from agentos.db.keyset import KeyKind, Keyset, SortExpr, SortKey
from agentos.db.models import Job
from agentos.db.models.listing import JOB_STAGE_RANK, JOB_STATUS_RANK, JOB_TITLE_KEY
from agentos.db.patterns import ESCAPE, contains
from agentos.errors import NotFoundError
from agentos.schemas.common import Page, PageParams
from agentos.schemas.jobs import JobFilters, JobRead
from agentos.services.context import Actor
from agentos.services.jobs import anchors, counts, ids, rollups
from agentos.services.jobs.queries import visible_to
from agentos.services.security import roles

HOUR = timedelta(hours=1)

# What each `sort` orders by: statuses in lifecycle order, stages in pipeline order (no
# stage first), titles ignoring case; every order ends with the id (a total order).
SORT_KEYS: dict[str, tuple[SortExpr, KeyKind]] = {
    "created_at": (Job.created_at, "datetime"),
    "updated_at": (Job.updated_at, "datetime"),
    "priority": (Job.priority, "int"),
    "status": (JOB_STATUS_RANK, "int"),
    "title": (JOB_TITLE_KEY, "str"),
    "progress": (Job.progress, "float"),
    "attempts": (Job.attempts, "int"),
    "current_stage": (JOB_STAGE_RANK, "int"),
}


def filtered(actor: Actor, filters: JobFilters) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a list: what `actor` may see, narrowed by `filters`."""
    where = visible_to(actor)
    if filters.owner_id is not None:
        if not roles.sees_all_jobs(actor.role) and filters.owner_id != actor.id:
            raise NotFoundError(f"user {filters.owner_id} not found", code="USER_NOT_FOUND")
        where.append(Job.owner_id == filters.owner_id)
    if filters.status:
        where.append(Job.status.in_([status.value for status in filters.status]))
    if filters.created_from is not None:
        where.append(Job.created_at >= filters.created_from)
    if filters.created_to is not None:
        where.append(Job.created_at < filters.created_to)
    if filters.id_prefix:
        where.append(ids.with_prefix(filters.id_prefix))
    if filters.search:
        where.append(Job.title.ilike(contains(filters.search), escape=ESCAPE))
    return where


def keyset_of(filters: JobFilters) -> Keyset:
    """The order `filters` ask for, and the cursors that belong to this very list."""
    descending = filters.order == "desc"
    last = SortKey(Job.id, "uuid", descending)
    if filters.sort == "id":
        keys = [last]
    else:
        expr, kind = SORT_KEYS[filters.sort]
        keys = [SortKey(expr, kind, descending), last]
    scope = json.dumps({"list": "jobs", **filters.model_dump(mode="json")}, sort_keys=True)
    return Keyset(keys, scope=scope)


def find(session: Session, *, actor: Actor, filters: JobFilters, page: PageParams) -> Page[JobRead]:
    """Jobs matching `filters` in `filters.sort`/`filters.order` (newest first by default):
    the page after (or before) `page.cursor`, else page number `page.page`."""
    where = filtered(actor, filters)
    total, counted_at = counts.total(session, actor=actor, filters=filters, where=where)
    exact = total if counted_at is None else None  # a kept total may be seconds old
    order, stmt = keyset_of(filters), select(Job).where(*where)
    leading = _leading_hours(session, actor, filters, page)
    if leading is None and page.cursor is None and filters.sort in anchors.SORTS:
        seen = "all" if roles.sees_all_jobs(actor.role) else str(actor.id)
        key = f"{order.fingerprint}:{seen}"
        step = anchors.SEARCH_STEP if filters.search else anchors.STEP
        progress = filters.sort in anchors.PROGRESS_SORTS
        leading = anchors.leading(
            session, order, stmt, key=key, offset=page.offset, step=step, progress=progress
        )
    window = keyset.read(session, order, stmt, page, total=exact, leading=leading)
    return Page(
        data=[JobRead.model_validate(row[0]) for row in window.rows],
        pagination=window.pagination(total=total, total_counted_at=counted_at),
    )


def _leading_hours(
    session: Session, actor: Actor, filters: JobFilters, page: PageParams
) -> keyset.Leading | None:
    """For a page by number deep in a list of every job by creation time: the whole
    creation hours before the page's, counted by the rollups, left out by a WHERE clause,
    so OFFSET skips at most an hour of jobs (page 25,000 of a million: not 500,000 rows)."""
    if (
        page.cursor is not None
        or page.offset < keyset.DEFERRED_OFFSET
        or filters.sort != "created_at"
        or filters.created_from is not None
        or filters.created_to is not None
        or not counts.from_rollups(actor, filters)
    ):
        return None
    statuses = [status.value for status in filters.status] if filters.status else None
    newest_first = filters.order == "desc"
    found = rollups.created_hour_at(
        session, statuses=statuses, offset=page.offset, newest_first=newest_first
    )
    if found is None:
        return None
    hour, skipped = found
    clause = Job.created_at < hour + HOUR if newest_first else Job.created_at >= hour
    return keyset.Leading(clause, skipped)
