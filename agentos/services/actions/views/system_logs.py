"""SystemLogs view: the audit trail (verify, search)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import NoPayload
from agentos.schemas.actions_reads import AuditSearchPayload, AuditSearchResult
from agentos.schemas.audit import AuditVerifyResult
from agentos.services.actions.registry import ActionContext, action
from agentos.services.security import audit_read, audit_verify

VIEW = "SystemLogs"


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
