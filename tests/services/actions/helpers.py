"""Running admin actions in tests, through the real pipeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agentos.db.models import AuditRecord
from agentos.schemas.actions import ActionResponse
from agentos.services.actions import pipeline
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime

ADMIN = Actor(name="alice", role="admin", source="api", ip="127.0.0.1", user_agent="pytest")


def actor(role: str, name: str | None = None, ip: str = "127.0.0.1") -> Actor:
    return Actor(name=name or f"{role}-tester", role=role, source="api", ip=ip)


def prepare(runtime: Runtime) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)


def run(
    runtime: Runtime,
    action: str,
    payload: dict[str, Any] | None = None,
    *,
    who: Actor = ADMIN,
    key: str | None = None,
) -> ActionResponse:
    with runtime.session() as session:
        return pipeline.execute(
            session, actor=who, action=action, payload=payload or {}, idempotency_key=key
        )


def audit_rows(runtime: Runtime, action: str | None = None) -> list[AuditRecord]:
    with runtime.session() as session:
        stmt = select(AuditRecord).order_by(AuditRecord.seq)
        if action is not None:
            stmt = stmt.where(AuditRecord.action == action)
        return list(session.scalars(stmt))


def outcomes(runtime: Runtime, action: str | None = None) -> list[str]:
    return [row.outcome for row in audit_rows(runtime, action)]
