"""What `agentos logs tail` follows: new log records since the last look, each printed
once, found by polling the `logs.search` action."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from agentos.cli._output import err_console
from agentos.cli._query import patiently, without_none

if TYPE_CHECKING:
    from agentos.client import Backend
    from agentos.schemas.actions_logs import LogRecordRead, LogSearchResult

# Records reach the store a writer flush (or another host's clock) late: each poll looks
# back this far and skips what was already printed, so a late record is not lost.
LATE_S = 10.0
# A poll reads at most this many pages; more new records than that in one interval is a
# flood that `logs export` serves better than a terminal.
MAX_PAGES = 20


def search_logs(backend: Backend, payload: dict[str, Any]) -> LogSearchResult:
    from agentos.schemas.actions_logs import LogSearchResult

    return LogSearchResult.model_validate(backend.run_action("logs.search", payload).result)


class Follower:
    """New records since the last look, each printed once, oldest first."""

    def __init__(
        self,
        backend: Backend,
        filters: dict[str, Any],
        since: datetime | None,
        *,
        pause: Callable[[float], None],
    ) -> None:
        self.backend = backend
        self.pause = pause
        self.filters = filters
        self.since = since
        self.seen: dict[uuid.UUID, datetime] = {}
        self.mark: datetime | None = None
        # On the first poll, a record not newer than the start was there already (beyond
        # the lines shown): it is context, not news.
        self.floor: datetime | None = None

    def _payload(self, since: datetime | None, **more: Any) -> dict[str, Any]:
        return {**self.filters, **without_none({"since": since and since.isoformat()}), **more}

    def start(self, lines: int) -> list[LogRecordRead]:
        page = search_logs(self.backend, self._payload(self.since, limit=max(lines, 1)))
        self._remember(page.records)
        self.floor = self.mark
        return sorted(page.records[:lines], key=_order)

    def poll(self) -> list[LogRecordRead]:
        from agentos.schemas.actions_logs import PAGE_MAX

        since = self.since
        if self.mark is not None:
            lookback = self.mark - timedelta(seconds=LATE_S)
            since = lookback if since is None else max(since, lookback)
        found: list[LogRecordRead] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            payload = self._payload(since, limit=PAGE_MAX, **without_none({"before": cursor}))
            page = patiently(partial(search_logs, self.backend, payload), pause=self.pause)
            found.extend(page.records)
            cursor = page.next_cursor
            if cursor is None:
                break
        else:
            err_console.print(
                f"more than {MAX_PAGES * PAGE_MAX} new records at once; showing the newest "
                "(`agentos logs export` has them all)",
                highlight=False,
            )
        floor, self.floor = self.floor, None
        fresh = [
            record
            for record in found
            if record.id not in self.seen and (floor is None or record.created_at > floor)
        ]
        self._remember(found)
        return sorted(fresh, key=_order)

    def _remember(self, records: list[LogRecordRead]) -> None:
        for record in records:
            self.seen[record.id] = record.created_at
            if self.mark is None or record.created_at > self.mark:
                self.mark = record.created_at
        if self.mark is not None:
            horizon = self.mark - timedelta(seconds=LATE_S * 2)
            self.seen = {key: at for key, at in self.seen.items() if at >= horizon}


def _order(record: LogRecordRead) -> tuple[datetime, uuid.UUID]:
    return record.created_at, record.id
