"""Idempotency keys (IETF draft "The Idempotency-Key HTTP Header Field" semantics).

A key is scoped to the actor. The first request that reaches dispatch claims it atomically
(SET NX on Redis DB1, an INSERT against the unique (scope, key) constraint in the
database); its response, success or error, is kept for `settings.idempotency_ttl_s` and
replayed to any retry with the same key and the same fingerprint (SHA-256 over the
canonical action + payload). A retry with another payload is refused (422), one that
arrives while the first is still running gets 409.

The in-progress marker is a lease held by its process (host, pid, start time). A claim
whose process died (kill -9) is taken over by the next request with the same key at once
when that process ran on the same host, else when its lease runs out
(`settings.idempotency_lock_ttl_s`, 60 s by default): that is the longest a retry can
see 409 after a crash. The owner's own transaction rolled back with it, so running the
action again is safe; on Redis the one exception is a process killed between the commit
of the action and the write of its response, which a retry after the lease runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psutil
import redis
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentos.db.models import IdempotencyRecord
from agentos.errors import ConflictError, InvalidError
from agentos.services.backends.outage import glob_escape, guarded
from agentos.services.context import Actor
from agentos.services.outbox import after_commit
from agentos.settings import Settings

HEADERS: tuple[str, ...] = ("Idempotency-Key", "X-Idempotency-Key")
UNAVAILABLE = "IDEMPOTENCY_UNAVAILABLE"
_HOST = socket.gethostname()
_STARTED = psutil.Process().create_time()
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


def owner() -> dict[str, Any]:
    """Who holds an in-progress key: this host and process (with its start time, so a
    reused pid is not mistaken for the owner)."""
    return {"host": _HOST, "pid": os.getpid(), "started": _STARTED}


def owner_gone(holder: Any) -> bool:
    """True when the holder was a process on this host that no longer runs. A holder on
    another host is only given up when its lease expires."""
    if not isinstance(holder, dict) or holder.get("host") != _HOST:
        return False
    try:
        process = psutil.Process(int(holder["pid"]))
        return abs(process.create_time() - float(holder["started"])) > 1.0
    except (psutil.NoSuchProcess, KeyError, TypeError, ValueError):
        return True
    except psutil.Error:
        return False


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
    # Whether complete() writes in the caller's transaction (else after its commit).
    writes_in_transaction: bool

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

    def purge(self, session: Session, *, older_than_s: int | None) -> int:
        """Forget stored records (all, or those stored at least `older_than_s` ago)."""


class DatabaseIdempotencyStore:
    """Embedded deployments: the table, so every local process on the home agrees."""

    writes_in_transaction = True

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
            abandoned = (
                row is not None
                and row.state == "in_progress"
                and owner_gone((row.response or {}).get("owner"))
            )
            if row is not None and row.expires_at > now and not abandoned:
                result = _judge(row.state, row.fingerprint, fingerprint, row.response)
                session.commit()
                return result
            if row is not None:
                session.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.id == row.id, IdempotencyRecord.state == row.state
                    )
                )
            session.add(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    state="in_progress",
                    response={"owner": owner()},
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

    def purge(self, session: Session, *, older_than_s: int | None) -> int:
        statement = delete(IdempotencyRecord)
        if older_than_s is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
            statement = statement.where(IdempotencyRecord.created_at <= cutoff)
        return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


class RedisIdempotencyStore:
    """Distributed deployments: Redis DB1, one JSON value per key."""

    writes_in_transaction = False

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
        marker = json.dumps(
            {
                "state": "in_progress",
                "fingerprint": fingerprint,
                "owner": owner(),
                "stored_at": time.time(),
            }
        )
        lease = self.settings.idempotency_lock_ttl_s
        for _ in range(3):
            with guarded(UNAVAILABLE, "idempotency keys"):
                if self.client.set(name, marker, nx=True, ex=lease):
                    return None
                raw = self.client.get(name)
            if raw is None:
                continue  # expired between the SET and the GET: try to claim again
            stored = json.loads(raw)
            if stored.get("state") == "in_progress" and owner_gone(stored.get("owner")):
                with guarded(UNAVAILABLE, "idempotency keys"):
                    self.client.set(name, marker, ex=lease, xx=True)  # take the lease over
                return None
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
                "stored_at": time.time(),
            },
            default=str,
        )
        name, ttl = self._name(scope, key), self.settings.idempotency_ttl_s
        # Only after the commit: a replay must never report an effect that was rolled back.
        after_commit(session, lambda: self.client.set(name, value, ex=ttl))

    def release(self, session: Session, *, scope: str, key: str) -> None:
        with guarded(UNAVAILABLE, "idempotency keys"):
            self.client.delete(self._name(scope, key))

    def purge(self, session: Session, *, older_than_s: int | None) -> int:
        """Redis keys of this deployment (and rows a former embedded life left behind)."""
        purged = DatabaseIdempotencyStore(self.settings).purge(session, older_than_s=older_than_s)
        cutoff = None if older_than_s is None else time.time() - older_than_s
        with guarded(UNAVAILABLE, "idempotency keys"):
            for name in self.client.scan_iter(match=glob_escape(self.prefix) + "*", count=500):
                if cutoff is not None and not _stored_before(self.client.get(name), cutoff):
                    continue
                purged += int(self.client.delete(name))
        return purged


def _stored_before(raw: bytes | str | None, cutoff: float) -> bool:
    try:
        stored_at = float(json.loads(raw or "{}").get("stored_at", 0.0))
    except (ValueError, TypeError, AttributeError):
        return True
    return stored_at <= cutoff
