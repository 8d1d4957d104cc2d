"""Running admin actions in tests, through the real pipeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agentos.db.models import AuditRecord
from agentos.db.session import session_scope
from agentos.schemas.actions import ActionResponse
from agentos.services.actions import pipeline
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.settings import Settings

ADMIN = Actor(name="alice", role="admin", source="api", ip="127.0.0.1", user_agent="pytest")


def actor(role: str, name: str | None = None, ip: str = "127.0.0.1") -> Actor:
    return Actor(name=name or f"{role}-tester", role=role, source="api", ip=ip)


def prepare(settings: Settings) -> None:
    with session_scope(settings) as session:
        ensure_default_agents(session)


def run(
    settings: Settings,
    action: str,
    payload: dict[str, Any] | None = None,
    *,
    who: Actor = ADMIN,
    key: str | None = None,
) -> ActionResponse:
    with session_scope(settings) as session:
        return pipeline.execute(
            session, actor=who, action=action, payload=payload or {}, idempotency_key=key
        )


def audit_rows(settings: Settings, action: str | None = None) -> list[AuditRecord]:
    with session_scope(settings) as session:
        stmt = select(AuditRecord).order_by(AuditRecord.seq)
        if action is not None:
            stmt = stmt.where(AuditRecord.action == action)
        return list(session.scalars(stmt))


def outcomes(settings: Settings, action: str | None = None) -> list[str]:
    return [row.outcome for row in audit_rows(settings, action)]
