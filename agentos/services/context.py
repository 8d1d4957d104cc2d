"""Who is acting, from where: passed keyword-only to every service that needs it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

Source = Literal["api", "cli", "tui", "system", "task"]


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    id: uuid.UUID | None = None
    source: Source = "api"
    ip: str | None = None
    user_agent: str | None = None
    trace_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)


SYSTEM_ACTOR = Actor(name="system", role="admin", source="system")
