"""`Backend.resolve_job_id` over HTTP: a short id (a unique prefix) is looked up with the
history filter `id_prefix`; none, several and not-a-prefix each have their error."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from agentos.client.http import HttpBackend
from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.jobs import JOB_EXAMPLE

IDS = ["be1ce8cf-0000-4000-8000-000000000000", "be1ce8cf-1111-4000-8000-000000000000"]


def _backend(seen: list[dict[str, Any]]) -> HttpBackend:
    def answer(request: httpx.Request) -> httpx.Response:
        prefix = request.url.params["id_prefix"].replace("-", "")
        seen.append(dict(request.url.params))
        found = [item for item in IDS if item.replace("-", "").startswith(prefix)]
        body = {
            "success": True,
            "data": [{**JOB_EXAMPLE, "id": item} for item in found],
            "pagination": {
                "page": 1,
                "per_page": 5,
                "total": len(found),
                "total_pages": 1,
                "has_next": False,
                "has_prev": False,
            },
        }
        return httpx.Response(200, json=body)

    client = httpx.Client(base_url="http://testserver", transport=httpx.MockTransport(answer))
    return HttpBackend("http://testserver", "token", client=client)


def test_a_unique_prefix_is_the_job() -> None:
    seen: list[dict[str, Any]] = []
    backend = _backend(seen)
    assert backend.resolve_job_id("be1ce8cf-1") == uuid.UUID(IDS[1])
    assert seen == [{"page": "1", "per_page": "5", "id_prefix": "be1ce8cf-1"}]
    # A whole id is taken as it is, without asking.
    assert backend.resolve_job_id(IDS[0]) == uuid.UUID(IDS[0])
    assert len(seen) == 1


def test_several_matches_none_and_not_a_prefix() -> None:
    backend = _backend([])
    with pytest.raises(InvalidError) as ambiguous:
        backend.resolve_job_id("be1ce8cf")
    assert ambiguous.value.code == "AMBIGUOUS_ID"
    assert ambiguous.value.details["matches"] == IDS
    with pytest.raises(NotFoundError) as missing:
        backend.resolve_job_id("0bad")
    assert missing.value.code == "JOB_NOT_FOUND"
    for text in ("be1", "not-hex", ""):
        with pytest.raises(InvalidError) as invalid:
            backend.resolve_job_id(text)
        assert invalid.value.code == "INVALID_ID"
