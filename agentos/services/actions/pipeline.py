"""The admin action pipeline, the only way any front end runs an admin action.

authorize (IP allow-list + RBAC) -> confirmation -> rate limit -> idempotency -> circuit
breaker -> dispatch -> audit. Every attempt leaves exactly one audit record.

`execute()` is a transaction boundary: it commits and rolls back the session it is given.
A successful action's effect, its audit record and (embedded) its idempotency record
commit together; a failed action's effect is rolled back and its audit record committed
in a fresh transaction; a refusal commits only its audit record (and, for a denial, the
security event).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session

from agentos import telemetry
from agentos.errors import AgentOSError, InternalError, RateLimitedError, error_from_kind
from agentos.schemas.actions import ActionPayload, ActionResponse
from agentos.services import jobs, outages
from agentos.services.actions import denials, registry
from agentos.services.actions.registry import ActionContext, ActionSpec
from agentos.services.backends import allowance, breaker, idempotency
from agentos.services.backends.idempotency import StoredResponse
from agentos.services.context import Actor, bound
from agentos.services.jobs import ids as job_ids
from agentos.services.runtime import backends_of, runtime_of, settings_of
from agentos.services.security import admin_access, audit, ipallow, pii, roles
from agentos.services.security.audit import AuditEntry

logger = logging.getLogger(__name__)
USERS_AREA = "users:"
MAX_NAME = 100


@dataclasses.dataclass
class _Run:
    session: Session
    name: str
    given: ActionPayload | dict[str, Any] | None
    raw: dict[str, Any]
    actor: Actor
    started: float
    key: str | None = None
    fingerprint: str = ""
    # Set by validate(): the declared action and its payload model.
    found: ActionSpec | None = None
    payload: Any = None

    @property
    def spec(self) -> ActionSpec:
        assert self.found is not None, "validate() first"
        return self.found

    @functools.cached_property
    def payload_json(self) -> dict[str, Any]:
        if self.payload is None:
            return self.raw  # refused before it was a model: audited as sent (scrubbed)
        data: dict[str, Any] = self.payload.model_dump(mode="json")
        return data

    @property
    def reason(self) -> str | None:
        reason = getattr(self.payload, "reason", None)
        if self.payload is None and isinstance(self.raw.get("reason"), str):
            reason = self.raw["reason"][:500]
        return reason if isinstance(reason, str) else None

    @property
    def dry_run(self) -> bool:
        return bool(getattr(self.payload, "dry_run", False))

    def entry(self, outcome: str, **fields: Any) -> AuditEntry:
        """The attempt's one audit record (also its sample in the action metrics)."""
        elapsed = time.perf_counter() - self.started
        telemetry.action(self.name, outcome, elapsed)
        return AuditEntry(
            actor=self.actor,
            action=self.name,
            outcome=outcome,
            payload=self.payload_json,
            reason=self.reason,
            duration_ms=elapsed * 1000,
            **fields,
        )

    def refuse(
        self, error: AgentOSError, outcome: str, *, event: Callable[[], object] | None = None
    ) -> NoReturn:
        """Commit the refusal's audit record (and its security event), then raise."""
        self.session.rollback()
        try:
            if event is not None:
                event()
            # Last before the commit: from here on this transaction holds the chain head.
            audit.append(self.session, self.entry(outcome, error_code=error.code), last=True)
            self.session.commit()
        except Exception as failure:
            self.session.rollback()
            _log_unaudited(self.name, failure)
        raise error

    def find(self) -> None:
        """The action must exist; else a `rejected` record."""
        try:
            self.found = registry.require(self.name)
        except AgentOSError as error:
            self.refuse(error, "rejected")

    def authorize(self) -> None:
        try:
            runtime = runtime_of(self.session)
            ipallow.require_allowed(runtime, self.actor, session=self.session)
            ipallow.require_action_allowed(runtime, self.actor, self.spec.name)
            roles.require(self.actor.role, permission=self.spec.permission, action=self.spec.name)
        except AgentOSError as error:
            self.refuse_denied(error)

    def _with_full_ids(self, given: Any) -> Any:
        """A job id given as a unique prefix (the TUI's short ids) becomes the full id."""
        value = given.get("job_id") if isinstance(given, dict) else None
        if not isinstance(value, str) or job_ids.prefix_range(value) is None:
            return given
        try:
            uuid.UUID(value)
            return given
        except ValueError:
            return {**given, "job_id": str(jobs.resolve_id(self.session, value, actor=self.actor))}

    def validate(self) -> None:
        """The payload must fit the action's model, and a destructive action be confirmed;
        else a `rejected` record."""
        try:
            self.payload = registry.validate_payload(self.spec, self._with_full_ids(self.given))
        except AgentOSError as error:
            self.refuse(error, "rejected")
        if self.spec.dangerous and not self.dry_run and not getattr(self.payload, "confirm", 0):
            self.refuse(
                _invalid(
                    f"{self.spec.name} is destructive: send confirm=true (or dry_run=true)",
                    "CONFIRMATION_REQUIRED",
                ),
                "rejected",
            )

    def refuse_denied(self, error: AgentOSError) -> NoReturn:
        """A denial, counted per actor and per IP: within the limits it is audited with a
        security event on the first one of a window; past them the attempt is refused as
        rate-limited (still audited), and one event sums the burst up."""
        try:
            burst = denials.count(self.session, self.actor)
        except AgentOSError:  # the limiter is down: the denial itself still stands
            burst = denials.Burst(first=True, refusal=None, announce=False)
        if burst.refusal is None:
            announce_denial = partial(
                denials.denied_event, self.session, self.actor, self.name, error
            )
            self.refuse(error, "denied", event=announce_denial if burst.first else None)
        refusal = burst.refusal
        announce_burst = partial(denials.announce, self.session, self.actor, self.name, refusal)
        self.refuse(refusal, "rate_limited", event=announce_burst if burst.announce else None)

    def rate_limit(self) -> None:
        policy = registry.rate_policy_of(self.spec, settings_of(self.session))
        limit, window = policy.limit, policy.window_s
        key = f"action:{idempotency.scope_of(self.actor)}:{self.spec.name}"
        try:  # leased in batches on Redis (backends/allowance.py: never over the limit)
            backends = backends_of(self.session)
            decision = allowance.admit(
                backends, key, limit=limit, window_s=window, algorithm=policy.algorithm
            )
        except AgentOSError as outage:  # the limiter is down: fail fast, audited
            self.refuse(outage, "rejected")
        if not decision.allowed:
            error = RateLimitedError(
                f"rate limit of {limit} {self.spec.name} per {window} s reached",
                retry_after_s=decision.retry_after_s,
                limit=limit,
                window_s=window,
                details={"retry_after_s": round(decision.retry_after_s, 3), "limit": limit},
            )
            self.refuse(error, "rate_limited")

    def claim(self, key: str) -> ActionResponse | None:
        """Own the key (None), or answer from the stored response (replay)."""
        self.key = idempotency.validate_key(key)
        self.fingerprint = idempotency.fingerprint(self.spec.name, self.payload_json)
        store = backends_of(self.session).idempotency
        try:
            stored = store.claim(
                self.session,
                scope=idempotency.scope_of(self.actor),
                key=self.key,
                fingerprint=self.fingerprint,
            )
        except AgentOSError as error:
            self.refuse(error, "conflict" if error.kind == "conflict" else "rejected")
        return None if stored is None else self.replay(stored)

    def replay(self, stored: StoredResponse) -> ActionResponse:
        body = stored.body
        code = None if stored.ok else str(body.get("code"))
        result = body.get("result") if stored.ok else None
        replayed = self.entry("replayed", error_code=code, result=result)
        audit.append(self.session, replayed, last=True)
        self.session.commit()
        if stored.ok:
            return ActionResponse.model_validate({**body, "replayed": True})
        error = error_from_kind(
            str(body.get("kind")),
            str(body.get("message")),
            code=code,
            details=dict(body.get("details") or {}),
        )
        error.replayed = True  # type: ignore[attr-defined]
        raise error

    def release(self) -> None:
        if self.key is not None:
            backends_of(self.session).idempotency.release(
                self.session, scope=idempotency.scope_of(self.actor), key=self.key
            )

    def guard(self) -> breaker.Permit:
        try:
            return breaker.guard(backends_of(self.session).breakers, self.spec.dependencies)
        except AgentOSError as error:
            self.session.rollback()
            self.release()
            self.refuse_keeping(error, "circuit_open")

    def refuse_keeping(self, error: AgentOSError, outcome: str) -> NoReturn:
        # Like refuse(), but keeps the claim release staged in this transaction.
        try:
            audit.append(self.session, self.entry(outcome, error_code=error.code))
            self.session.commit()
        except Exception as failure:
            self.session.rollback()
            _log_unaudited(self.spec.name, failure)
        raise error

    def store(self, response: StoredResponse) -> None:
        if self.key is not None:
            backends_of(self.session).idempotency.complete(
                self.session,
                scope=idempotency.scope_of(self.actor),
                key=self.key,
                fingerprint=self.fingerprint,
                response=response,
            )

    def _appends_last(self) -> bool:  # unless the response is then kept in the same transaction
        return self.key is None or not backends_of(self.session).idempotency.writes_in_transaction

    def dispatch(self, permit: breaker.Permit) -> ActionResponse:
        runtime = runtime_of(self.session)
        context = ActionContext(
            actor=self.actor, runtime=runtime, reason=self.reason, dry_run=self.dry_run
        )
        try:
            raw = self.spec.handler(self.session, self.payload, context)
            result = _as_result(self.spec, raw)
            response = ActionResponse(
                action=self.spec.name,
                result=result,
                dry_run=self.dry_run,
                trace_id=self.actor.trace_id,
            )
            # Kept scrubbed: a secret (an API key, a one-time password) is shown once only.
            scrubbed = pii.scrub(result) if self.key is not None else None
            entry = self.entry("success", result=result)
            response.duration_ms = round(entry.duration_ms or 0.0, 3)
            response.audit_seq = audit.append(self.session, entry, last=self._appends_last())
            if self.key is not None:
                stored = {**response.model_dump(mode="json"), "result": scrubbed}
                self.store(StoredResponse(ok=True, body=stored))
            self.session.commit()
        except Exception as exc:
            self.fail(permit, exc)
        breaker.report(runtime.backends.breakers, permit, failed=None)
        if self.spec.permission.startswith(USERS_AREA) and not self.dry_run:
            # Disabling users, changing roles, revoking tokens: drop this process's cached
            # tokens and users now instead of after admin_access.USER_CACHE_S.
            admin_access.forget_user(runtime)
        return response

    def fail(self, permit: breaker.Permit, exc: Exception) -> NoReturn:
        self.session.rollback()
        error = exc if isinstance(exc, AgentOSError) else outages.as_unavailable(exc)
        if error is None:
            logger.exception("admin action %s failed", self.spec.name)
            error = InternalError(f"{self.spec.name} failed unexpectedly", code="ACTION_FAILED")
        elif error is not exc:
            logger.warning("admin action %s failed: %s", self.spec.name, error.message)
        failed = None
        if breaker.counts_as_failure(exc):
            failed = breaker.dependency_of(exc, self.spec.dependencies)
        breaker.report(backends_of(self.session).breakers, permit, failed=failed)
        try:
            audit.append(self.session, self.entry("failed", error_code=error.code))
            self.store(StoredResponse(ok=False, body=_error_body(error)))
            self.session.commit()
        except Exception as failure:
            self.session.rollback()
            self.release()
            _log_unaudited(self.spec.name, failure)
        raise error from (None if error is exc else exc)


def execute(
    session: Session,
    *,
    actor: Actor,
    action: str,
    payload: ActionPayload | dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> ActionResponse:
    """Run one admin action through the whole pipeline; commits what it did. Its log
    records and events carry its trace id and actor (a CLI action makes up its trace id)."""
    started = time.perf_counter()
    if actor.trace_id is None:
        actor = dataclasses.replace(actor, trace_id=uuid.uuid4().hex)
    with bound(trace_id=actor.trace_id, actor=actor.name):
        return _execute(session, actor, action, payload, idempotency_key, started)


def _execute(
    session: Session,
    actor: Actor,
    action: str,
    payload: ActionPayload | dict[str, Any] | None,
    idempotency_key: str | None,
    started: float,
) -> ActionResponse:
    # JSON-safe for the audit record of an attempt refused before its payload is a model.
    raw = to_jsonable_python(payload, fallback=str)
    run = _Run(
        session=session,
        name=action[:MAX_NAME],
        given=payload,
        raw=dict(raw or {}) if isinstance(raw, dict) else {"payload": str(raw)[:200]},
        actor=actor,
        started=started,
    )
    run.find()
    run.authorize()
    run.validate()
    run.rate_limit()
    if idempotency_key:
        replayed = run.claim(idempotency_key)
        if replayed is not None:
            return replayed
    permit = run.guard()
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        # End the reads so far (authentication, allow-list): on SQLite they hold the write
        # lock, which a handler that opens its own session would otherwise wait for.
        session.commit()
    return run.dispatch(permit)


def _log_unaudited(action: str, failure: Exception) -> None:
    """An outage in one line; anything else with its traceback."""
    outage = outages.as_unavailable(failure)
    if outage is not None:
        logger.warning("could not audit the action %s: %s", action, outage.message)
    else:
        logger.exception("could not audit the action %s", action)


def _as_result(spec: ActionSpec, raw: Any) -> dict[str, Any]:
    model = (
        raw
        if isinstance(raw, spec.result)
        else spec.result.model_validate(raw, from_attributes=True)
    )
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


def _error_body(error: AgentOSError) -> dict[str, Any]:
    details = {key: value for key, value in error.details.items() if _jsonable(value)}
    return {"kind": error.kind, "code": error.code, "message": error.message, "details": details}


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None


def _invalid(message: str, code: str) -> AgentOSError:
    return error_from_kind("invalid", message, code=code)
