"""Idempotency keys (IETF draft "The Idempotency-Key HTTP Header Field" semantics).

A key is scoped to the actor. The first request that reaches dispatch claims it atomically
(SET NX on Redis DB1, an INSERT against the unique (scope, key) constraint in the
database); its response, success or error, is kept for `settings.idempotency_ttl_s` and
replayed to any retry with the same key and the same fingerprint (SHA-256 over the
canonical action + payload). A retry with another payload is refused (422), one that
arrives while the first is still running gets 409. A claim that is never completed (the
process died) expires after `settings.idempotency_lock_ttl_s`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import redis
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentos.db.models import IdempotencyRecord
from agentos.errors import ConflictError, InvalidError
from agentos.services.context import Actor
from agentos.services.outbox import after_commit
from agentos.settings import Settings

HEADERS: tuple[str, ...] = ("Idempotency-Key", "X-Idempotency-Key")
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class StoredResponse:
    """What a replay answers: the result (ok) or the error (kind, code, message, details)."""

    ok: bool
    body: dict[str, Any]


def validate_key(key: str) -> str:
    key = key.strip().strip('"')
    if not _VALID_KEY.match(key):
        raise InvalidError(
            "Idempotency-Key must be 1-255 visible ASCII characters",
            code="INVALID_IDEMPOTENCY_KEY",
        )
    return key


def fingerprint(action: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"action": action, "payload": payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def scope_of(actor: Actor) -> str:
    return f"user:{actor.id}" if actor.id else f"name:{actor.name}"


def _judge(state: str, stored_fingerprint: str, wanted: str, response: Any) -> StoredResponse:
    if stored_fingerprint != wanted:
        raise InvalidError(
            "this Idempotency-Key was already used with a different request",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    if state != "completed" or not isinstance(response, dict):
        raise ConflictError(
            "a request with this Idempotency-Key is still being processed; retry later",
            code="IDEMPOTENCY_IN_PROGRESS",
        )
    return StoredResponse(ok=bool(response.get("ok")), body=dict(response.get("body") or {}))


class IdempotencyStore(Protocol):
    def claim(
        self, session: Session, *, scope: str, key: str, fingerprint: str
    ) -> StoredResponse | None:
        """None when this caller now owns the key, else the stored response to replay."""

    def complete(
        self, session: Session, *, scope: str, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        """Keep the response; becomes visible when the caller's transaction commits."""

    def release(self, session: Session, *, scope: str, key: str) -> None:
        """Give the key up (refused before dispatch: nothing is stored)."""


class DatabaseIdempotencyStore:
    """Embedded deployments: the table, so every local process on the home agrees."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _row(self, session: Session, scope: str, key: str) -> IdempotencyRecord | None:
        return session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )

    def claim(
        self, session: Session, *, scope: str, key: str, fingerprint: str
    ) -> StoredResponse | None:
        session.commit()  # the claim is its own transaction, visible to others at once
        for _ in range(3):
            now = datetime.now(UTC)
            row = self._row(session, scope, key)
            if row is not None and row.expires_at > now:
                result = _judge(row.state, row.fingerprint, fingerprint, row.response)
                session.commit()
                return result
            if row is not None:
                session.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.id == row.id, IdempotencyRecord.expires_at <= now
                    )
                )
            session.add(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    state="in_progress",
                    expires_at=now + timedelta(seconds=self.settings.idempotency_lock_ttl_s),
                )
            )
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()  # another request claimed it first: judge theirs
        raise ConflictError(
            "Idempotency-Key is contended; retry later", code="IDEMPOTENCY_IN_PROGRESS"
        )

    def complete(
        self, session: Session, *, scope: str, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            .values(
                state="completed",
                status_code=200 if response.ok else None,
                response={"ok": response.ok, "body": response.body},
                expires_at=datetime.now(UTC) + timedelta(seconds=self.settings.idempotency_ttl_s),
            )
        )

    def release(self, session: Session, *, scope: str, key: str) -> None:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_progress",
            )
        )


class RedisIdempotencyStore:
    """Distributed deployments: Redis DB1, one JSON value per key."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.prefix = f"{settings.redis_key_prefix}idem:"

    def _name(self, scope: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self.prefix}{scope}:{digest}"

    def claim(
        self, session: Session, *, scope: str, key: str, fingerprint: str
    ) -> StoredResponse | None:
        name = self._name(scope, key)
        marker = json.dumps({"state": "in_progress", "fingerprint": fingerprint})
        for _ in range(3):
            if self.client.set(name, marker, nx=True, ex=self.settings.idempotency_lock_ttl_s):
                return None
            raw = self.client.get(name)
            if raw is None:
                continue  # expired between the SET and the GET: try to claim again
            stored = json.loads(raw)
            return _judge(
                stored.get("state", ""), stored.get("fingerprint", ""), fingerprint, stored
            )
        raise ConflictError(
            "Idempotency-Key is contended; retry later", code="IDEMPOTENCY_IN_PROGRESS"
        )

    def complete(
        self, session: Session, *, scope: str, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        value = json.dumps(
            {
                "state": "completed",
                "fingerprint": fingerprint,
                "ok": response.ok,
                "body": response.body,
            },
            default=str,
        )
        name, ttl = self._name(scope, key), self.settings.idempotency_ttl_s
        # Only after the commit: a replay must never report an effect that was rolled back.
        after_commit(session, lambda: self.client.set(name, value, ex=ttl))

    def release(self, session: Session, *, scope: str, key: str) -> None:
        self.client.delete(self._name(scope, key))
