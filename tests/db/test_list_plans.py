"""Issue 19: every list the API pages is read from an index on PostgreSQL at 100,000 jobs.

Each list is called as the API calls it (the service function), for its first page and for
a deep page by cursor (past 40,000 rows), with each filter and each order; every statement
it ran is then EXPLAINed (ANALYZE) and must have read no table whole (no Seq Scan on jobs,
processing_steps or system_events), sorted no more than a few pages' worth of rows, and,
for the page itself, touched a few pages' worth of rows, not the rows before it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from agentos.schemas.common import Page, PageParams
from agentos.schemas.jobs import JobFilters
from agentos.services import agents, jobs, queue
from agentos.services.context import Actor
from agentos.services.jobs import anchors, behind
from agentos.services.runtime import Runtime, backends_of
from agentos.settings import Settings
from tests.support import services
from tests.support.many_jobs import add_jobs, add_users

pytestmark = pytest.mark.postgres

JOBS = 100_000
PER_PAGE = 20
DEEP = 2_000  # page 2,000 of 20: 40,000 rows in, then the next one by its cursor
BIG_TABLES = {"jobs", "processing_steps", "system_events"}
# A page reads its rows and a few more (filters that keep 1 in 10 rows, the +1 probe), and
# sorts at most what its branches' pages returned.
MOST_ROWS_READ = 40 * PER_PAGE
MOST_ROWS_SORTED = 10 * (PER_PAGE + 1)
STAFF = Actor(id=uuid.uuid4(), name="plans-staff", role="admin")

ListCall = Callable[[Session, PageParams], Page[Any]]


@pytest.fixture(scope="module")
def runtime(
    postgres_admin_url: str, postgres_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    name = f"agentos_plans_{uuid.uuid4().hex[:12]}"
    services.clone_postgres_database(postgres_admin_url, template=postgres_template, name=name)
    home = Path(tmp_path_factory.mktemp("plans-home"))
    settings = Settings(home=home, database_url=services.database_url(postgres_admin_url, name))
    try:
        with closing(Runtime(settings)) as built:
            with built.session() as session:
                add_jobs(session.connection(), JOBS, add_users(session.connection(), 40))
            yield built
    finally:
        services.drop_postgres_database(postgres_admin_url, name)


@pytest.fixture(scope="module")
def user(runtime: Runtime) -> Actor:
    """The owner of 1 job in 10 (as a user sees the lists: their own jobs only)."""
    with runtime.session() as session:
        owner = session.scalar(
            text("SELECT owner_id FROM jobs GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        )
    return Actor(id=owner, name="plans-user", role="user")


def _plans(runtime: Runtime, call: ListCall, params: PageParams) -> list[tuple[str, Any]]:
    """Call the list (counts not cached), then EXPLAIN ANALYZE each statement it ran."""
    ran: list[tuple[str, Any]] = []
    with runtime.session() as session:
        backends_of(session).cache.delete_pattern("*")
        connection = session.connection()

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                ran.append((statement, parameters))

        event.listen(connection, "before_cursor_execute", record)
        try:
            call(session, params)
        finally:
            event.remove(connection, "before_cursor_execute", record)
        raw = connection.connection.dbapi_connection
        assert raw is not None
        plans = []
        for statement, parameters in ran:
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                plans.append((statement, cursor.fetchone()[0][0]["Plan"]))
    return plans


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _check(
    plans: list[tuple[str, Any]], what: str, *, counted_by_scan: bool = False, bounded: bool = True
) -> None:
    """`counted_by_scan`: the total may read the table (a title search: no index finds
    "contains"; that count is taken once and reused for a few seconds, jobs/counts.py).
    `bounded=False`: the page may read more than a few pages of rows, never a whole table
    (a user's queue: their open work is picked out of everyone's, see test_queue_details)."""
    assert plans, what
    for statement, plan in plans:
        where = f"{what}: {' '.join(statement.split())[:160]}\n{json.dumps(plan)[:3000]}"
        counting = statement.lstrip().lower().startswith("select count(*)")
        for node in _nodes(plan):
            relation = node.get("Relation Name")
            if counting and counted_by_scan:
                continue
            assert not (node["Node Type"] == "Seq Scan" and relation in BIG_TABLES), where
            if node["Node Type"] == "Sort":
                assert node["Actual Rows"] <= MOST_ROWS_SORTED, where
            if bounded and relation == "jobs" and not counting:
                read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
                assert read * node["Actual Loops"] <= MOST_ROWS_READ, where


def _first_and_deep(
    runtime: Runtime,
    call: ListCall,
    what: str,
    *,
    pages: bool = True,
    scan: bool = False,
    bounded: bool = True,
) -> None:
    """The first page, then (from a page asked by number, 40,000 rows in, or the second page
    of a shorter list) the next by cursor. `pages=False`: a list of one page; `scan` and
    `bounded`: see `_check`."""
    first = _plans(runtime, call, PageParams(per_page=PER_PAGE))
    _check(first, f"{what}, first page", counted_by_scan=scan, bounded=bounded)
    if not pages:
        return
    with runtime.session() as session:
        cursor = call(session, PageParams(page=DEEP, per_page=PER_PAGE)).pagination.next_cursor
        if cursor is None:  # a shorter list
            cursor = call(session, PageParams(per_page=PER_PAGE)).pagination.next_cursor
    assert cursor is not None, what
    after = _plans(runtime, call, PageParams(per_page=PER_PAGE, cursor=cursor))
    _check(after, f"{what}, deep page by cursor", counted_by_scan=scan, bounded=bounded)


def _jobs(actor: Actor, **filters: Any) -> ListCall:
    parsed = JobFilters.model_validate(filters)
    return lambda session, page: jobs.find(session, actor=actor, filters=parsed, page=page)


FILTERS: dict[str, dict[str, Any]] = {
    "no filter": {},
    "one status": {"status": ["failed"]},
    "two statuses": {"status": ["failed", "cancelled"]},
    "created since": {"created_from": "2000-01-01T00:00:00Z"},
    "created range": {"created_from": "2000-01-01T00:00:00Z", "created_to": "2100-01-01T00:30:00Z"},
    "title search": {"search": "keynote"},
    "id prefix": {"id_prefix": "0000"},
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_job_history_as_staff_with_each_filter(runtime: Runtime, name: str) -> None:
    # A 4-digit id prefix is 1 job in 65,536: one page.
    pages, scan = name != "id prefix", name == "title search"
    call = _jobs(STAFF, **FILTERS[name])
    _first_and_deep(runtime, call, f"staff, {name}", pages=pages, scan=scan)


@pytest.mark.parametrize("name", ["no filter", "one status", "created since"])
def test_job_history_as_a_user_with_each_filter(runtime: Runtime, user: Actor, name: str) -> None:
    _first_and_deep(runtime, _jobs(user, **FILTERS[name]), f"user, {name}")


def test_one_owners_jobs_as_staff(runtime: Runtime, user: Actor) -> None:
    _first_and_deep(runtime, _jobs(STAFF, owner_id=user.id), "staff, one owner")


@pytest.mark.parametrize(
    "sort",
    ["created_at", "updated_at", "priority", "status", "title", "progress", "attempts",
     "current_stage", "id"],
)  # fmt: skip
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_job_history_in_each_order(runtime: Runtime, sort: str, order: str) -> None:
    _first_and_deep(runtime, _jobs(STAFF, sort=sort, order=order), f"sort {sort} {order}")


@pytest.mark.parametrize("sort", ["title", "status", "current_stage", "priority", "updated_at"])
def test_a_deep_page_by_number_skips_its_rows_in_the_index_alone(
    runtime: Runtime, sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OFFSET reads the rows before the page: from the index alone (an index-only scan, no
    table row fetched per skipped row), also in the orders by an expression (lower(title),
    the status and stage ranks), whose indexes include the column they read (0016). This is
    the page before the list's anchors are taken."""
    monkeypatch.setattr(anchors, "SORTS", frozenset())
    with runtime.engine.connect() as connection:  # the visibility map, as autovacuum keeps it
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM (ANALYZE) jobs"
        )
    call = _jobs(STAFF, sort=sort, order="asc")
    plans = _plans(runtime, call, PageParams(page=DEEP, per_page=PER_PAGE))
    skipping = [
        node
        for _, plan in plans
        for node in _nodes(plan)
        if node.get("Relation Name") == "jobs" and node["Actual Rows"] > MOST_ROWS_READ
    ]
    assert skipping, f"sort {sort}: no statement skipped the rows before page {DEEP}"
    for node in skipping:
        where = f"sort {sort}: {json.dumps(node)[:2000]}"
        assert node["Node Type"] == "Index Only Scan", where
        assert node.get("Heap Fetches", 0) <= MOST_ROWS_READ, where


@pytest.mark.parametrize("actor", ["staff", "user"])
def test_queue_details(runtime: Runtime, user: Actor, actor: str) -> None:
    """A user's page of the queue is their open work picked out of everyone's: PostgreSQL
    may read the rest of the queue's index range past the cursor for it (the queue, not the
    jobs table), so only the staff page is held to a few pages of rows."""
    who = STAFF if actor == "staff" else user
    call: ListCall = lambda session, page: queue.details(session, actor=who, page=page)  # noqa: E731
    _first_and_deep(runtime, call, actor, bounded=actor == "staff")


@pytest.mark.parametrize("actor", ["staff", "user"])
def test_agent_queue_and_logs(runtime: Runtime, user: Actor, actor: str) -> None:
    who = STAFF if actor == "staff" else user
    _first_and_deep(
        runtime,
        lambda session, page: agents.queue(session, agent="scenes", actor=who, page=page),
        f"agent queue, {actor}",
        bounded=actor == "staff",  # as for test_queue_details
    )
    _first_and_deep(
        runtime,
        lambda session, page: agents.logs(session, agent="scenes", actor=who, page=page),
        f"agent logs, {actor}",
    )


@pytest.mark.parametrize(
    ("who", "filters"),
    [
        ("staff", {"sort": "title", "order": "asc"}),
        ("staff", {"sort": "title", "status": ["failed"]}),
        ("staff", {"sort": "priority"}),
        ("staff", {"sort": "priority", "order": "asc"}),
        ("staff", {"sort": "status"}),
        ("staff", {"sort": "id"}),
        ("staff", {"sort": "updated_at", "order": "asc"}),
        ("staff", {"sort": "progress"}),
        ("staff", {"sort": "attempts", "order": "asc"}),
        ("staff", {"sort": "current_stage"}),
        ("user", {"sort": "title", "order": "asc"}),
    ],
)
def test_a_deep_page_by_number_after_its_anchors_reads_a_few_pages_of_rows(
    runtime: Runtime, user: Actor, who: str, filters: dict[str, Any]
) -> None:
    """Once the list's anchors are taken, a page by number 40,000 rows in starts at the
    anchor before it: no statement reads more than an anchor's gap and a few pages, once
    (a semi join that re-ran its skipping subquery per row took minutes by priority)."""
    actor = STAFF if who == "staff" else user
    call = _jobs(actor, **filters)
    # A user's 10,000 jobs: page 200 is 4,000 rows in (the front half, not the far end).
    params = PageParams(page=DEEP if who == "staff" else 200, per_page=PER_PAGE)
    book = runtime.component(anchors._Book, anchors._Book)
    book.lists.clear()
    book.taking.clear()
    _plans(runtime, call, params)  # asks for the anchors
    deadline = time.monotonic() + 30
    while behind.busy() or not book.lists:
        assert time.monotonic() < deadline, "the anchors were not taken"
        time.sleep(0.05)
    plans = _plans(runtime, call, params)
    # A user's list by title reads the title index and keeps their rows: 1 in 10.
    most = (anchors.STEP + MOST_ROWS_READ) * (10 if who == "user" else 1)
    read_rows = 0
    for statement, plan in plans:
        where = f"{who} {filters}: {' '.join(statement.split())[:160]}\n{json.dumps(plan)[:3000]}"
        for node in _nodes(plan):
            relation = node.get("Relation Name")
            assert not (node["Node Type"] == "Seq Scan" and relation in BIG_TABLES), where
            counting = statement.lstrip().lower().startswith("select count(*)")
            if relation == "jobs" and not counting:  # a total is kept for later pages
                read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
                assert read * node["Actual Loops"] <= most, where
                read_rows = max(read_rows, read)
    assert read_rows > PER_PAGE  # it did skip (fewer than an anchor's gap of) rows
