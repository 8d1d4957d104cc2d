"""Read shapes the operator views need that no other schema module offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentos.schemas.common import ReadModel


class RuntimeSettingRead(ReadModel):
    """One row of the runtime `settings` table (changed live by admin actions)."""

    key: str
    value: Any = None
    updated_by: str | None = None
    updated_at: datetime
