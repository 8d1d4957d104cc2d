"""Shared shapes: pagination, the seed's envelopes, and the base model for reads."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ReadModel(BaseModel):
    """Base of every `*Read` schema: built from ORM rows by attribute."""

    model_config = ConfigDict(from_attributes=True)


# Far beyond any real list, and small enough that (page - 1) * per_page fits a 64-bit OFFSET.
MAX_PAGE = 10_000_000


class PageParams(BaseModel):
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=20, ge=1, le=500)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class Pagination(BaseModel):
    page: int
    per_page: int
    total: int
    total_pages: int
    has_next: bool
    has_prev: bool
    total_counted_at: datetime | None = Field(
        default=None,
        description="Set when `total` is an exact count taken at this moment and reused "
        "for a few seconds (large unfiltered lists); null when counted for this response.",
    )

    @classmethod
    def of(
        cls, *, page: int, per_page: int, total: int, total_counted_at: datetime | None = None
    ) -> Pagination:
        total_pages = max(1, math.ceil(total / per_page)) if per_page else 1
        return cls(
            page=page,
            per_page=per_page,
            total=total,
            total_pages=total_pages,
            has_next=page < total_pages,
            has_prev=page > 1,
            total_counted_at=total_counted_at,
        )


class Page(BaseModel, Generic[T]):
    data: list[T]
    pagination: Pagination


class SuccessEnvelope(BaseModel, Generic[T]):
    success: bool = True
    data: T
    timestamp: datetime
    response_time_ms: float


class PageEnvelope(BaseModel, Generic[T]):
    success: bool = True
    data: list[T]
    pagination: Pagination
    timestamp: datetime
    response_time_ms: float


class ErrorEnvelope(BaseModel):
    success: bool = False
    error: str
    error_code: str
    timestamp: datetime
    details: dict[str, Any] | None = None
    trace_id: str | None = None
