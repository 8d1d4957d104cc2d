"""SystemLogs view: logs.search, logs.export, logs.set_level, logs.purge, events.list,
events.purge, events.emit, audit.search, audit.export, audit.verify."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.db.models import Job
from agentos.errors import NotFoundError
from agentos.schemas.actions import NoPayload
from agentos.schemas.actions_logs import (
    AuditExportPayload,
    AuditExportResult,
    EventEmitPayload,
    EventList,
    EventListPayload,
    ExportResult,
    LogExportPayload,
    LogLevels,
    LogSearchPayload,
    LogSearchResult,
    LogSetLevelPayload,
    PurgePayload,
    PurgeResult,
)
from agentos.schemas.actions_reads import AuditSearchPayload, AuditSearchResult
from agentos.schemas.audit import AuditVerifyResult
from agentos.schemas.events import EventRead
from agentos.services import events
from agentos.services.actions.registry import ActionContext, action
from agentos.services.config import commands
from agentos.services.logs import search
from agentos.services.security import audit_export, audit_read, audit_verify

VIEW = "SystemLogs"


@action(
    "logs.search",
    view=VIEW,
    summary="Search the structured logs of every process (text, level and up, source, "
    "logger, trace id, job, time), newest first, a page at a time",
    payload=LogSearchPayload,
    result=LogSearchResult,
    permission="logs:read",
)
def logs_search(session: Session, payload: LogSearchPayload, ctx: ActionContext) -> LogSearchResult:
    return search.find(session, payload)


@action(
    "logs.export",
    view=VIEW,
    summary="Write matching log records to a JSONL or CSV file in the home's exports/",
    payload=LogExportPayload,
    result=ExportResult,
    permission="logs:read",
)
def logs_export(session: Session, payload: LogExportPayload, ctx: ActionContext) -> ExportResult:
    return search.export(session, settings=ctx.settings, payload=payload)


@action(
    "logs.set_level",
    view=VIEW,
    summary="Change one logger's level, live in every process",
    payload=LogSetLevelPayload,
    result=LogLevels,
    permission="logs:write",
    rate_class="high_risk",
)
def logs_set_level(session: Session, payload: LogSetLevelPayload, ctx: ActionContext) -> LogLevels:
    levels = {**ctx.settings.log_levels, payload.logger: payload.level}
    if payload.level == "NOTSET":
        levels.pop(payload.logger)
    commands.set_value(session, key="log_levels", value=levels, actor=ctx.actor, reason=ctx.reason)
    return LogLevels(level=ctx.settings.log_level, levels=levels)


@action(
    "logs.purge",
    view=VIEW,
    summary="Remove log records older than older_than_days (the retention task does it daily)",
    payload=PurgePayload,
    result=PurgeResult,
    permission="logs:write",
    rate_class="high_risk",
    dangerous=True,
)
def logs_purge(session: Session, payload: PurgePayload, ctx: ActionContext) -> PurgeResult:
    removed = search.purge(session, older_than_days=payload.older_than_days, dry_run=ctx.dry_run)
    return PurgeResult(
        older_than_days=payload.older_than_days, removed=removed, dry_run=ctx.dry_run
    )


@action(
    "events.list",
    view=VIEW,
    summary="System events, newest first (severity, acknowledged, source, trace id, job)",
    payload=EventListPayload,
    result=EventList,
    permission="events:read",
)
def events_list(session: Session, payload: EventListPayload, ctx: ActionContext) -> EventList:
    found = events.find(
        session,
        severity=payload.severity,
        min_severity=payload.min_severity,
        text=payload.query,
        acknowledged=payload.acknowledged,
        source=payload.source,
        trace_id=payload.trace_id,
        job_id=payload.job_id,
        limit=payload.limit,
    )
    return EventList(events=found)


@action(
    "events.purge",
    view=VIEW,
    summary="Remove acknowledged events older than older_than_days",
    payload=PurgePayload,
    result=PurgeResult,
    permission="events:write",
    rate_class="high_risk",
    dangerous=True,
)
def events_purge(session: Session, payload: PurgePayload, ctx: ActionContext) -> PurgeResult:
    removed = events.purge(session, older_than_days=payload.older_than_days, dry_run=ctx.dry_run)
    return PurgeResult(
        older_than_days=payload.older_than_days, removed=removed, dry_run=ctx.dry_run
    )


@action(
    "events.emit",
    view=VIEW,
    summary="Add an operator note to the event stream (an incident annotation), shown live",
    payload=EventEmitPayload,
    result=EventRead,
    permission="events:write",
)
def events_emit(session: Session, payload: EventEmitPayload, ctx: ActionContext) -> EventRead:
    if payload.job_id is not None and session.get(Job, payload.job_id) is None:
        # A clear 404, not the foreign key's IntegrityError (an internal error) at insert.
        raise NotFoundError(f"job {payload.job_id} not found", code="JOB_NOT_FOUND")
    event = events.emit(
        session,
        severity=payload.severity,
        source="operator",
        kind="note",
        message=f"{ctx.actor.name}: {payload.message}",
        job_id=payload.job_id,
        trace_id=ctx.actor.trace_id,
    )
    return EventRead.model_validate(event)


@action(
    "audit.search",
    view=VIEW,
    summary="Search the whole audit trail (actor, action, outcome, time, trace id), newest first",
    payload=AuditSearchPayload,
    result=AuditSearchResult,
    permission="audit:read",
)
def audit_search(
    session: Session, payload: AuditSearchPayload, ctx: ActionContext
) -> AuditSearchResult:
    return audit_read.search(session, payload)


@action(
    "audit.export",
    view=VIEW,
    summary="Export audit records (JSONL with each record's hash and the chain head) to the "
    "home's exports/, for archiving; `agentos audit verify FILE` checks it offline",
    payload=AuditExportPayload,
    result=AuditExportResult,
    permission="audit:read",
)
def audit_export_action(
    session: Session, payload: AuditExportPayload, ctx: ActionContext
) -> AuditExportResult:
    after = audit_export.first_seq_since(session, payload.since) if payload.since else 0
    path = search.exports_dir(ctx.settings) / audit_export.file_name()
    done = audit_export.export(session, path, after_seq=after, purpose="archive")
    return AuditExportResult(
        path=str(done.path),
        count=done.count,
        format="jsonl",
        bytes=done.path.stat().st_size,
        from_seq=done.from_seq,
        to_seq=done.to_seq,
        head_seq=done.head_seq,
        head_hash=done.head_hash,
    )


@action(
    "audit.verify",
    view=VIEW,
    summary="Recompute the audit hash chain end to end (keyed, and against the exported "
    "head); name the first broken record",
    payload=NoPayload,
    result=AuditVerifyResult,
    permission="audit:read",
)
def verify_chain(session: Session, payload: NoPayload, ctx: ActionContext) -> AuditVerifyResult:
    anchor = audit_verify.read_anchor(ctx.settings)
    return audit_verify.verify(session, anchor=anchor)
