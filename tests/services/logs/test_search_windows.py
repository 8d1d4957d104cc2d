"""A text search without `since` reads one day below its position per page: pages may be
short, the cursor walks into older days, and following it finds every match once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentos.schemas.actions_logs import EventListPayload, LogExportPayload, LogSearchPayload
from agentos.services import events
from agentos.services.logs import search
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.logs.conftest import add_records


def _all_pages(runtime: Runtime, **filters: Any) -> tuple[list[str], int]:
    found: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        with runtime.session() as session:
            page = search.find(session, LogSearchPayload(before=cursor, limit=2, **filters))
        pages += 1
        found.extend(record.message for record in page.records)
        if page.next_cursor is None:
            return found, pages
        cursor = page.next_cursor


def test_text_pages_walk_back_a_day_at_a_time_and_find_every_match(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    ages_h = (0.5, 1, 2, 30, 30.5, 120)
    add_records(
        runtime,
        [{"created_at": now - timedelta(hours=h), "message": f"needle {h}"} for h in ages_h]
        + [{"created_at": now - timedelta(hours=h), "message": "hay"} for h in (3, 40, 100)],
    )
    with runtime.session() as session:
        first = search.find(session, LogSearchPayload(query="needle", limit=10))
    assert [r.message for r in first.records] == ["needle 0.5", "needle 1", "needle 2"]
    assert first.next_cursor is not None  # older days remain
    found, pages = _all_pages(runtime, query="needle")
    assert found == [f"needle {h}" for h in ages_h]
    assert pages > 3
    with runtime.session() as session:
        bounded = search.find(
            session, LogSearchPayload(query="needle", since=now - timedelta(days=30), limit=10)
        )
    assert len(bounded.records) == len(ages_h)  # with since: one ordinary page
    assert bounded.next_cursor is None


def test_export_takes_the_search_filters(runtime: Runtime, settings: Settings) -> None:
    now = datetime.now(UTC)
    add_records(
        runtime,
        [
            {"created_at": now, "message": "disk full", "source": "worker@a:1"},
            {"created_at": now, "message": "disk full", "source": "server@a:2"},
            {"created_at": now, "message": "fine", "source": "worker@a:1"},
        ],
    )
    with runtime.session() as session:
        result = search.export(
            session,
            settings=settings,
            payload=LogExportPayload(query="disk", source="worker"),
        )
    assert result.count == 1


def test_events_filter_by_text_and_minimum_severity(runtime: Runtime) -> None:
    with runtime.session() as session:
        for severity, message in (
            ("info", "disk ok"),
            ("warning", "disk slow"),
            ("error", "cpu hot"),
        ):
            events.emit(session, severity=severity, source="test", message=message)  # type: ignore[arg-type]
    payload = EventListPayload(min_severity="warning", query="disk")
    with runtime.session() as session:
        found = events.find(session, min_severity=payload.min_severity, text=payload.query)
    assert [event.message for event in found] == ["disk slow"]
