"""Shared shapes: pagination, the seed's envelopes, and the base model for reads."""

from __future__ import annotations

import math
import re
from datetime import datetime
from types import UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

T = TypeVar("T")


class ReadModel(BaseModel):
    """Base of every `*Read` schema: built from ORM rows by attribute."""

    model_config = ConfigDict(from_attributes=True)


# Far beyond any real list, and small enough that (page - 1) * per_page fits a 64-bit OFFSET.
MAX_PAGE = 10_000_000


# A cursor is base64url text (agentos/db/keyset.py); one we did not make is 422 BAD_CURSOR.
CURSOR_MAX_LENGTH = 1024


class PageParams(BaseModel):
    page: int = Field(
        default=1, ge=1, le=MAX_PAGE, description="Page number (ignored with `cursor`)"
    )
    per_page: int = Field(default=20, ge=1, le=500)
    cursor: str | None = Field(
        default=None,
        max_length=CURSOR_MAX_LENGTH,
        description="`pagination.next_cursor` (or `prev_cursor`) of the page before: the "
        "next page at any depth without re-reading the rows before it, and no row twice "
        "while jobs are added. Opaque; one made for another list, filter or order answers "
        "422 BAD_CURSOR.",
    )

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
        description="Set when `total` is a kept count: when it was last known exact (kept "
        "for a few seconds, or up to a minute while no job is written); null when counted "
        "for this response.",
    )
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page; null on the last page (or where "
        "the list has no cursors).",
    )
    prev_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the page before; null on the first page.",
    )

    @classmethod
    def of(
        cls,
        *,
        page: int,
        per_page: int,
        total: int,
        total_counted_at: datetime | None = None,
        has_next: bool | None = None,
        next_cursor: str | None = None,
        prev_cursor: str | None = None,
    ) -> Pagination:
        """`has_next`, when known from the rows read, wins over the total (a count reused
        for a few seconds may lag behind the list)."""
        total_pages = max(1, math.ceil(total / per_page)) if per_page else 1
        if has_next is None:
            has_next = page < total_pages
        elif has_next:
            total_pages = max(total_pages, page + 1)
        return cls(
            page=page,
            per_page=per_page,
            total=total,
            total_pages=total_pages,
            has_next=has_next,
            has_prev=page > 1 or prev_cursor is not None,
            total_counted_at=total_counted_at,
            next_cursor=next_cursor,
            prev_cursor=prev_cursor,
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


# RFC 3339, as `format: date-time` says: a date, a time and an offset (Z or +hh:mm).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _is_json_integer(value: Any) -> bool:
    """JSON Schema's integer: a number with no fraction (6 and 6.0), never a boolean."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _json_type_error(annotation: Any, value: Any) -> str | None:
    """Why `value` is not of the JSON type the annotation documents, or None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _json_type_error(get_args(annotation)[0], value)
    if origin in (Union, UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = [_json_type_error(option, value) for option in options if option is not type(None)]
        return None if any(error is None for error in errors) else errors[0]
    if annotation is bool and not isinstance(value, bool):
        return "a boolean (true or false)"
    if annotation is int and not _is_json_integer(value):
        return "an integer"
    if annotation is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "a number"
    text_time = isinstance(value, str) and RFC3339.match(value) is not None
    if annotation is datetime and not isinstance(value, datetime) and not text_time:
        return "an RFC 3339 date-time with its offset"
    return None


class RequestModel(BaseModel):
    """Base of request bodies: the JSON the schema documents, nothing looser. Unknown fields
    are refused (`additionalProperties: false`) and booleans and numbers must be JSON
    booleans and numbers (pydantic alone would take 0 for false or "5" for 5)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _json_types(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key in data:
                problem = _json_type_error(field.annotation, data[key])
                if problem is not None:
                    raise ValueError(f"{key} must be {problem}")
        return data


def _rfc3339(value: Any) -> Any:
    if isinstance(value, str) and not RFC3339.match(value):
        raise ValueError(
            "expected an RFC 3339 date-time with its offset, e.g. 2026-01-01T10:00:00Z"
        )
    return value


# A date-time given as text (query parameters): exactly RFC 3339, never a number.
DateTimeText = Annotated[datetime, BeforeValidator(_rfc3339)]
