"""SystemLogs view: audit.verify (the other SystemLogs actions come with their issue)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions import NoPayload
from agentos.schemas.audit import AuditVerifyResult
from agentos.services.actions.registry import ActionContext, action
from agentos.services.security import audit

VIEW = "SystemLogs"


@action(
    "audit.verify",
    view=VIEW,
    summary="Recompute the audit hash chain end to end; name the first broken record",
    payload=NoPayload,
    result=AuditVerifyResult,
    permission="audit:read",
)
def audit_verify(session: Session, payload: NoPayload, ctx: ActionContext) -> AuditVerifyResult:
    return audit.verify(session)
