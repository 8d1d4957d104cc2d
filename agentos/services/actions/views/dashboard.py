"""Dashboard view: dashboard.refresh, dashboard.alert.ack, dashboard.alert.ack_all,
queue.pause, queue.resume.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import AckAllResult, AlertAckAllPayload, AlertAckPayload, NoPayload
from agentos.schemas.admin import RebuildResult
from agentos.schemas.events import EventRead
from agentos.schemas.queue import QueueState
from agentos.services import admin_data, events, queue
from agentos.services.actions.registry import ActionContext, action

VIEW = "Dashboard"


@action(
    "dashboard.refresh",
    view=VIEW,
    summary="Rebuild the admin SSOT document now; returns its build time and size",
    payload=NoPayload,
    result=RebuildResult,
    permission="dashboard:write",
    dependencies=("database", "cache"),
)
def dashboard_refresh(session: Session, payload: NoPayload, ctx: ActionContext) -> RebuildResult:
    return admin_data.rebuild(ctx.runtime)


@action(
    "dashboard.alert.ack",
    view=VIEW,
    summary="Acknowledge one system event",
    payload=AlertAckPayload,
    result=EventRead,
    permission="events:write",
)
def alert_ack(session: Session, payload: AlertAckPayload, ctx: ActionContext) -> EventRead:
    return events.acknowledge(session, event_id=payload.event_id, actor=ctx.actor)


@action(
    "dashboard.alert.ack_all",
    view=VIEW,
    summary="Acknowledge every unacknowledged system event (of one severity)",
    payload=AlertAckAllPayload,
    result=AckAllResult,
    permission="events:write",
)
def alert_ack_all(
    session: Session, payload: AlertAckAllPayload, ctx: ActionContext
) -> AckAllResult:
    count = events.acknowledge_all(session, actor=ctx.actor, severity=payload.severity)
    return AckAllResult(count=count, severity=payload.severity)


@action(
    "queue.pause",
    view=VIEW,
    summary="Stop dispatching new work; running stages finish",
    payload=NoPayload,
    result=QueueState,
    permission="queue:write",
)
def queue_pause(session: Session, payload: NoPayload, ctx: ActionContext) -> QueueState:
    return queue.pause(session, actor=ctx.actor)


@action(
    "queue.resume",
    view=VIEW,
    summary="Resume dispatching queued work",
    payload=NoPayload,
    result=QueueState,
    permission="queue:write",
    dependencies=("database", "broker"),
)
def queue_resume(session: Session, payload: NoPayload, ctx: ActionContext) -> QueueState:
    return queue.resume(session, actor=ctx.actor)
