"""Denied attempts are limited per actor and per client address.

A token without the role for an action, or a caller outside the allow-list, could otherwise
write denied audit records (and security events) as fast as it can send requests, each
holding the audit chain head. Within `PER_ACTOR` denials per actor and `PER_IP` per address
a minute, each denial is audited and the first of a window raises a security event; past
them the attempt is refused as rate-limited (429, still audited) and one event per window
sums the burst up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from agentos.errors import AgentOSError, RateLimitedError
from agentos.services import events
from agentos.services.backends.idempotency import scope_of
from agentos.services.context import Actor
from agentos.services.runtime import Runtime, backends_of
from agentos.services.security import audit
from agentos.services.security.audit import AuditEntry

WINDOW_S = 60
PER_ACTOR = 20
PER_IP = 60


@dataclass(frozen=True)
class Burst:
    first: bool  # the first denial of this window: announce it
    refusal: RateLimitedError | None  # past a limit: refuse the attempt as rate-limited
    announce: bool  # the first refusal of this window: sum the burst up


def count(session: Session, actor: Actor) -> Burst:
    """Count one denial of `actor` (and of its address); UnavailableError when the limiter
    is down."""
    limiter = backends_of(session).limiter
    checks = [(f"denied:{scope_of(actor)}", PER_ACTOR)]
    if actor.ip:
        checks.append((f"denied-ip:{actor.ip}", PER_IP))
    first = False
    for key, limit in checks:
        decision = limiter.hit(key, limit=limit, window_s=WINDOW_S)
        if not decision.allowed:
            refusal = RateLimitedError(
                f"too many denied attempts: at most {limit} a minute",
                retry_after_s=decision.retry_after_s,
                limit=limit,
                window_s=WINDOW_S,
                code="TOO_MANY_DENIALS",
                details={"retry_after_s": round(decision.retry_after_s, 3), "limit": limit},
            )
            announce = limiter.hit(f"{key}:announced", limit=1, window_s=WINDOW_S).allowed
            return Burst(first=False, refusal=refusal, announce=announce)
        first = first or decision.remaining == limit - 1
    return Burst(first=first, refusal=None, announce=False)


def announce(session: Session, actor: Actor, action: str, refusal: RateLimitedError) -> None:
    """One security event for a burst of denied attempts."""
    events.emit(
        session,
        severity="warning",
        source="security",
        kind="denied_burst",
        message=(
            f"{actor.name} ({actor.role}) from {actor.ip or 'a local front end'} went past "
            f"{refusal.limit} denied attempts a minute (last: {action}); further attempts "
            f"are refused for {refusal.retry_after_s:.0f} s"
        ),
        details={
            "actor": actor.name,
            "role": actor.role,
            "ip": actor.ip,
            "action": action,
            "limit": refusal.limit,
            "trace_id": actor.trace_id,
        },
    )


def denied_event(session: Session, actor: Actor, action: str, error: AgentOSError) -> None:
    """The security event of the first denial of a window."""
    events.emit(
        session,
        severity="warning",
        source="security",
        kind="action_denied",
        message=f"{actor.name} ({actor.role}) was denied {action}: {error.message}",
        details={
            "action": action,
            "actor": actor.name,
            "role": actor.role,
            "ip": actor.ip,
            "code": error.code,
            "trace_id": actor.trace_id,
        },
    )


def audit_read(runtime: Runtime, actor: Actor, what: str, error: AgentOSError) -> AgentOSError:
    """A denied admin read (SSOT, /ws, action status), audited and limited like a denied
    action; returns the error to answer (TOO_MANY_DENIALS past the limits)."""
    action = f"read:{what}"
    with runtime.session() as session:
        try:
            burst = count(session, actor)
        except AgentOSError:  # the limiter is down: the denial itself still stands
            burst = Burst(first=True, refusal=None, announce=False)
        answer: AgentOSError = error if burst.refusal is None else burst.refusal
        if burst.refusal is None and burst.first:
            denied_event(session, actor, action, error)
        elif burst.refusal is not None and burst.announce:
            announce(session, actor, action, burst.refusal)
        outcome = "denied" if burst.refusal is None else "rate_limited"
        audit.append(
            session, AuditEntry(actor=actor, action=action, outcome=outcome, error_code=answer.code)
        )
    return answer
