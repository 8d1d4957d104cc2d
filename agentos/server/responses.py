"""The seed's success envelopes, built in one place."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request

from agentos.schemas.common import Page

T = TypeVar("T")


def elapsed_ms(request: Request) -> float:
    started = getattr(request.state, "started", None)
    return round((time.perf_counter() - started) * 1000, 3) if started else 0.0


def ok(request: Request, data: Any) -> dict[str, Any]:
    return {
        "success": True,
        "data": data,
        "timestamp": datetime.now(UTC),
        "response_time_ms": elapsed_ms(request),
    }


def paged(request: Request, page: Page[Any]) -> dict[str, Any]:
    return {
        "success": True,
        "data": page.data,
        "pagination": page.pagination,
        "timestamp": datetime.now(UTC),
        "response_time_ms": elapsed_ms(request),
    }
