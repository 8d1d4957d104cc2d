"""The append-only, hash-chained audit trail of admin actions.

`hash` = HMAC-SHA256, keyed with the deployment's audit key (kept outside the database:
`settings.audit_mac_key`), over the canonical JSON of the record's fields and `prev_hash`,
so an edited record no longer matches its hash, a deleted one breaks the next link (and
leaves a gap in `seq`), and whoever can write the database still cannot forge a record.
Records written before the chain was keyed (`keyed_from_seq`) keep plain SHA-256 links.
The record is written in the caller's transaction, so it commits with the action's effect
or not at all. Verification and the exported head are in `audit_verify`.

Appending, and why it is built this way. Each link needs the previous record's hash, and
that record may still be uncommitted; if its transaction then rolled back, a link made to
it would point at nothing and `verify` would report tampering that never happened. So the
head is transactional: one row, `audit_chain_head`, and an appender holds its row lock
from the moment it advances the head until its COMMIT. Releasing the lock before the
COMMIT fsync (a session advisory lock, a head kept in Redis) would let the next record
chain to one that may yet roll back; a background sealer that links records after commit
(sequence-assigned seq, hashes in a second table, since audit_log takes no UPDATE) would
leave every record unprotected until sealed and has to guess whether a sequence gap is a
rollback or a deletion. Neither keeps the guarantee, so what is serialised is made as
short as it can be instead:

- On PostgreSQL the whole append is ONE call, the last before the COMMIT: the function
  `agentos_audit_append` (migration 0020) advances the head (`UPDATE ... RETURNING`,
  which under READ COMMITTED re-reads the newest committed head after waiting for the
  lock, unlike a snapshot read after an advisory lock taken in the same statement) and
  inserts the record, the hash computed by pgcrypto's hmac() over the canonical JSON that
  Python built with the two values it cannot know yet (`seq`, `prev_hash`) left as splice
  points. The lock is held for that one round trip plus the COMMIT; before, it also
  covered taking an advisory lock and reading the head (three round trips plus the
  COMMIT). The admin action pipeline sends the call and its COMMIT in one query
  (`last=True`), so the lock lasts only while PostgreSQL runs the two. It is a function,
  not one statement sent whole, because PL/pgSQL keeps its statements' plans for the
  connection: sent whole, the 2.5 KB statement was parsed and planned on every append.
- Everything else of the action (authorisation, rate limit, its own UPDATE, scrubbing,
  the canonical JSON) runs before the head is touched, concurrently with other actions.
- `synchronous_commit` stays on: an acknowledged action whose audit record can vanish in
  a crash is not an audit trail. Operators with a WAL device that fsyncs slowly can set
  PostgreSQL's `commit_delay`/`commit_siblings`, which batch the WAL flushes of the other
  (non-audit) transactions committing meanwhile.

The head row also makes a deleted tail visible: the next append continues at the head's
seq, so `verify` finds the gap. On SQLite writers are serialised by BEGIN IMMEDIATE
already; the same row is advanced with the hash computed in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    LargeBinary,
    Select,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Compiled, Connection, Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from agentos.db.models import AuditChainHead, AuditRecord
from agentos.errors import InternalError
from agentos.services.context import Actor
from agentos.services.runtime import component_of
from agentos.services.security.pii import scrub, scrub_text, storable

GENESIS_HASH = "0" * 64
AUDIT_KEY = "audit.mac_key"
HEAD_ID = 1
HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "created_at",
    "actor_id",
    "actor_name",
    "role",
    "source",
    "action",
    "payload",
    "result",
    "outcome",
    "error_code",
    "trace_id",
    "ip",
    "user_agent",
    "reason",
    "duration_ms",
    "prev_hash",
)
VERIFY_BATCH = 1000
# Every column an append writes (`id` is generated in Python, as the model does).
_INSERTED: tuple[str, ...] = ("id", *HASHED_FIELDS, "hash")
_CHAINED: tuple[str, ...] = ("seq", "prev_hash", "hash")
_PARTS: tuple[str, ...] = ("part_head", "part_middle", "part_tail", "mac_key")
# The models' tables, typed as the Core tables they are.
HEAD_TABLE: Table = AuditChainHead.__table__  # type: ignore[assignment]
_LOG: Table = AuditRecord.__table__  # type: ignore[assignment]


@dataclass
class AuditEntry:
    """One attempt, as the pipeline saw it (payload and result are scrubbed on append)."""

    actor: Actor
    action: str
    outcome: str
    payload: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error_code: str | None = None
    reason: str | None = None
    duration_ms: float | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _normalise(value: Any) -> Any:
    # JSONB keeps numbers as numerics: 1.0 may come back as 1 and 1e20 as an integer, so
    # integral floats hash as integers on both sides.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(
        _normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def hash_fields(values: dict[str, Any], key: bytes | None) -> str:
    """The record's hash: HMAC-SHA256 with the deployment's audit key, or (records written
    before the chain was keyed, `key=None`) plain SHA-256."""
    data = canonical_json(values).encode()
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def mac_key(session: Session) -> bytes:
    """The audit key of the session's deployment (read once per runtime)."""
    return component_of(session, AUDIT_KEY, lambda runtime: runtime.settings.audit_mac_key())


def record_fields(record: AuditRecord | Draft) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in HASHED_FIELDS}
    values["created_at"] = _timestamp(record.created_at)
    values["actor_id"] = str(record.actor_id) if record.actor_id else None
    return values


@dataclass
class Draft:
    """A record's fields before it is chained (a plain object: no ORM instrumentation)."""

    id: uuid.UUID
    created_at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    role: str | None
    source: str
    action: str
    payload: dict[str, Any] | None
    result: dict[str, Any] | None
    outcome: str
    error_code: str | None
    trace_id: str | None
    ip: str | None
    user_agent: str | None
    reason: str | None
    duration_ms: float | None
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""


def _new_record(entry: AuditEntry) -> Draft:
    actor = entry.actor
    return Draft(
        id=uuid.uuid4(),
        created_at=entry.created_at,
        actor_id=actor.id,
        actor_name=storable(actor.name[:64]),
        role=actor.role,
        source=actor.source,
        action=storable(entry.action[:64]),
        payload=scrub(entry.payload) if entry.payload is not None else None,
        result=scrub(entry.result) if entry.result is not None else None,
        outcome=entry.outcome,
        error_code=storable(entry.error_code[:64]) if entry.error_code else None,
        trace_id=actor.trace_id,
        ip=actor.ip,
        user_agent=storable(actor.user_agent[:255]) if actor.user_agent else None,
        reason=scrub_text(entry.reason) if entry.reason else None,
        duration_ms=None if entry.duration_ms is None else round(entry.duration_ms, 3),
    )


def canonical_parts(record: Draft) -> tuple[bytes, bytes, bytes]:
    """The record's canonical JSON, UTF-8, split where `prev_hash` and `seq` go.

    hmac(key, parts[0] + prev_hash + parts[1] + str(seq) + parts[2]) is exactly
    `hash_fields(record_fields(record), key)` once both are set, which is what verify
    computes.
    """
    marker = uuid.uuid4().hex  # cannot occur in the scrubbed fields
    prev_marker, seq_marker = f"prev-{marker}", f"seq-{marker}"
    values = record_fields(record)
    values["prev_hash"], values["seq"] = prev_marker, seq_marker
    canonical = canonical_json(values)
    head, _, rest = canonical.partition(prev_marker)
    middle, _, tail = rest.partition(f'"{seq_marker}"')
    return head.encode(), middle.encode(), tail.encode()


def head_row_missing() -> InternalError:
    return InternalError(
        "the audit chain head row is missing; run `agentos db upgrade` or restore it",
        code="AUDIT_HEAD_MISSING",
    )


@lru_cache(maxsize=1)
def _append_call() -> Select[int]:
    """`SELECT agentos_audit_append(...)`, built once: the function (migration 0020) advances
    the head, hashes the record with pgcrypto's hmac() (the key comes with the call and is
    never stored) and inserts it. Its arguments: the columns, the three parts, the key."""
    columns = [name for name in _INSERTED if name not in _CHAINED]
    arguments = [bindparam(f"v_{name}", type_=_LOG.c[name].type) for name in columns]
    arguments += [bindparam(name, type_=LargeBinary) for name in _PARTS]
    return select(func.agentos_audit_append(*arguments, type_=BigInteger))


@dataclass(frozen=True)
class _DriverStatement:
    """The append compiled for one dialect, run on the driver's connection."""

    sql: str
    processors: dict[str, Callable[[Any], Any]]
    compiled: Compiled


@lru_cache(maxsize=8)
def _driver_statement(dialect: Dialect) -> _DriverStatement:
    compiled = _append_call().compile(dialect=dialect)
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        process = dialect.type_descriptor(bind.type).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return _DriverStatement(compiled.string, processors, compiled)


def _append_postgresql(session: Session, record: Draft, *, last: bool) -> int:
    """Advance the head and insert the record in one call, hashed by PostgreSQL."""
    head, middle, tail = canonical_parts(record)
    params = {f"v_{name}": getattr(record, name) for name in _INSERTED if name not in _CHAINED}
    params.update(part_head=head, part_middle=middle, part_tail=tail, mac_key=mac_key(session))
    if last:
        session.flush()  # the handler's pending changes go first, before the head is held
        return _append_and_commit(session.connection(), params)
    try:
        return int(session.connection().execute(_append_call(), params).scalar_one())
    except IntegrityError as error:
        raise _missing_head_or(error) from error


def _append_and_commit(connection: Connection, values: dict[str, Any]) -> int:
    """The append and the COMMIT in one query string, so the head's row lock lasts as long
    as PostgreSQL takes to run the two: between them this thread no longer waits for the
    append's result and then for the interpreter lock, which under concurrent actions was
    most of the time the head was held. The values are bound client-side by psycopg (its
    `ClientCursor`, quoting by libpq), the one way to send two statements in one round
    trip without pipeline mode's extra synchronisation. If the append fails, PostgreSQL
    skips the COMMIT and the transaction stays open for the caller's rollback."""
    statement = _driver_statement(connection.dialect)
    params = dict(statement.compiled.construct_params(values) or {})
    for name, process in statement.processors.items():
        params[name] = process(params[name])
    driver: Any = connection.connection.driver_connection
    dbapi = connection.dialect.loaded_dbapi
    try:
        with dbapi.ClientCursor(driver) as cursor:
            cursor.execute(statement.sql + "; COMMIT", params)
            inserted = cursor.fetchone()
    except dbapi.Error as error:
        if connection.dialect.is_disconnect(error, driver, None):
            connection.invalidate(error)
        wrapped = DBAPIError.instance(
            statement.sql, params, error, dbapi.Error, hide_parameters=True
        )
        raise (_missing_head_or(wrapped) if isinstance(wrapped, DBAPIError) else wrapped) from error
    if inserted is None:  # cannot happen: the statement fails without a head row
        raise head_row_missing()
    return int(inserted[0])


def _missing_head_or(error: DBAPIError) -> Exception:
    """The head row gone shows as the record's NULL seq; any other error as itself."""
    diag = getattr(error.orig, "diag", None)
    if isinstance(error, IntegrityError) and getattr(diag, "column_name", None) == "seq":
        return head_row_missing()
    return error


def _append_serialised(session: Session, record: Draft) -> int:
    """Writers already serialised by the database (SQLite): the hash is computed here."""
    chain = HEAD_TABLE
    head = session.execute(select(chain.c.seq, chain.c.hash).where(chain.c.id == HEAD_ID)).first()
    if head is None:
        raise head_row_missing()
    record.seq, record.prev_hash = int(head[0]) + 1, str(head[1])
    record.hash = hash_fields(record_fields(record), mac_key(session))
    session.execute(
        update(chain)
        .where(chain.c.id == HEAD_ID)
        .values(seq=record.seq, prev_hash=record.prev_hash, hash=record.hash)
    )
    session.execute(insert(_LOG).values(_row(record)))
    return record.seq


def _row(record: Draft) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _INSERTED}


def append(session: Session, entry: AuditEntry, *, last: bool = False) -> int:
    """Add the record to the caller's transaction; returns its seq.

    Call it last, right before the commit: from here to the COMMIT this transaction holds
    the chain head and every other appender waits for it. `last=True` promises that
    nothing else joins the transaction and that the caller's `session.commit()` follows:
    on PostgreSQL the COMMIT is then sent with the append, and that `session.commit()`
    finds the transaction done and only runs the after-commit callbacks.
    """
    record = _new_record(entry)
    if session.get_bind().dialect.name == "postgresql":
        return _append_postgresql(session, record, last=last)
    return _append_serialised(session, record)
