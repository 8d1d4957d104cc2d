"""`HttpBackend.list_jobs` asks the server to sort (the TUI's Jobs view sorts across
pages); without a sort it sends nothing new."""

from __future__ import annotations

from typing import Any

import httpx

from agentos.client.http import HttpBackend

EMPTY_PAGE = {
    "success": True,
    "data": [],
    "pagination": {"page": 2, "per_page": 50, "total": 0, "total_pages": 1,
                   "has_next": False, "has_prev": True},
}  # fmt: skip


def _backend(seen: list[dict[str, Any]]) -> HttpBackend:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=EMPTY_PAGE)

    client = httpx.Client(base_url="http://testserver", transport=httpx.MockTransport(answer))
    return HttpBackend("http://testserver", "token", client=client)


def test_sort_and_order_are_sent_only_when_given() -> None:
    seen: list[dict[str, Any]] = []
    backend = _backend(seen)
    backend.list_jobs(page=2, per_page=50, sort="title", order="asc")
    backend.list_jobs(page=2, per_page=50)
    assert seen == [
        {"page": "2", "per_page": "50", "sort": "title", "order": "asc"},
        {"page": "2", "per_page": "50"},
    ]
