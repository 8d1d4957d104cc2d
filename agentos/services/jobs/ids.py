"""Short job ids: the TUI shows 8 characters, and an operator types them back.

A unique prefix (4 or more hex digits, hyphens ignored) of a job id stands for that job
wherever a job id is taken: the CLI, the actions (`job_id`) and the job history filter.
It is looked up as a range of the primary key, so it costs one index probe at any size.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import ColumnElement, and_

from agentos.db.models import Job
from agentos.errors import InvalidError

MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")


def prefix_range(text: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The ids a prefix covers, lowest and highest; None when `text` is not a prefix."""
    digits = text.strip().lower().replace("-", "")
    if not (MIN_PREFIX <= len(digits) <= 32) or not _HEX.match(digits):
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def with_prefix(text: str) -> ColumnElement[bool]:
    bounds = prefix_range(text)
    if bounds is None:
        raise InvalidError(
            f"{text!r} is not a job id or a prefix of one (at least {MIN_PREFIX} hex digits)",
            code="INVALID_ID",
        )
    return and_(Job.id >= bounds[0], Job.id <= bounds[1])
