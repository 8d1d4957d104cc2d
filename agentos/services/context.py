"""Who is acting, from where: passed keyword-only to every service that needs it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Literal

Source = Literal["api", "web", "cli", "tui", "system", "task"]


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


# What the code running now is working for, read by the log records and events it writes:
# set by the server for a request, by a runner for the step it runs.
trace_id_var: ContextVar[str | None] = ContextVar("agentos_trace_id", default=None)
job_id_var: ContextVar[uuid.UUID | None] = ContextVar("agentos_job_id", default=None)
actor_var: ContextVar[str | None] = ContextVar("agentos_actor", default=None)


def current_trace_id() -> str | None:
    return trace_id_var.get()


@contextmanager
def bound(
    *,
    trace_id: str | None = None,
    job_id: uuid.UUID | None = None,
    actor: str | None = None,
) -> Iterator[None]:
    """Within the block, log records and events carry these (the given ones only)."""
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = []
    if trace_id is not None:
        tokens.append((trace_id_var, trace_id_var.set(trace_id)))
    if job_id is not None:
        tokens.append((job_id_var, job_id_var.set(job_id)))
    if actor is not None:
        tokens.append((actor_var, actor_var.set(actor)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
