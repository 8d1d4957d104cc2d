"""System events (the operator's event stream) as read back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from agentos.schemas.common import ReadModel


class EventRead(ReadModel):
    id: uuid.UUID
    severity: str
    source: str
    kind: str
    message: str
    details: dict[str, Any] | None = None
    job_id: uuid.UUID | None = None
    created_at: datetime
    acknowledged_by: uuid.UUID | None = None
    acknowledged_at: datetime | None = None
    trace_id: str | None = None
