"""`GET /api/admin/ssot/figures`: the exact figures the Failures and Analytics views show,
read live for the caller (like the Managers section) rather than kept in the cached
document, which is rebuilt after every change while these are asked for every 30-60 s.

Who may read them is the SSOT's rule (`dashboard:read` from an allowed address); a denial
is audited as `read:figures`, on every front end (the local backend calls this too).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.errors import ForbiddenError
from agentos.schemas.figures import FiguresPart, LiveFigures
from agentos.services.actions import denials
from agentos.services.analytics.agent_hours import agent_figures
from agentos.services.context import Actor
from agentos.services.jobs.failed import failure_figures, retry_figures
from agentos.services.runtime import runtime_of
from agentos.services.security import ipallow, roles

ALL_PARTS = tuple(FiguresPart)


def read(
    session: Session,
    *,
    actor: Actor,
    parts: Iterable[FiguresPart] = ALL_PARTS,
    error_code: str | None = None,
) -> LiveFigures:
    """The parts asked for, as of one `now`; `error_code` ('' for none) also lists that
    code's newest failed jobs."""
    runtime = runtime_of(session)
    try:
        ipallow.require_allowed(runtime, actor, session=session)
        roles.require_permission(actor.role, roles.ADMIN_READ)
    except ForbiddenError as error:
        raise denials.audit_read(runtime, actor, "figures", error) from None
    wanted, now = set(parts), utcnow()
    figures = LiveFigures(generated_at=now)
    if FiguresPart.failures in wanted:
        figures.failures = failure_figures(session, now=now, error_code=error_code)
    if FiguresPart.retries in wanted:
        figures.retries = retry_figures(session, now=now)
    if FiguresPart.agents in wanted:
        figures.agents = agent_figures(session, now=now)
    return figures
