"""Operations: events, audit trail, idempotency, runtime settings, backups, metrics, logs, bus."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from agentos.db.base import Base, BigIntId, JSONType, UUIDPrimaryKey, utcnow


class SystemEvent(UUIDPrimaryKey, Base):
    __tablename__ = "system_events"
    __table_args__ = (
        Index("ix_system_events_severity_acknowledged_at", "severity", "acknowledged_at"),
        # A source's events newest first, a page after a cursor (an agent's log).
        Index("ix_system_events_source_created_at_id", "source", "created_at", "id"),
        Index("ix_system_events_trace_id", "trace_id"),
    )

    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64), default="note")
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None]
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    acknowledged_at: Mapped[datetime | None]
    trace_id: Mapped[str | None] = mapped_column(String(64))


class AuditRecord(Base):
    """Append-only and hash-chained: `hash` covers the record and `prev_hash`."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_name_created_at", "actor_name", "created_at"),
        Index("ix_audit_log_action_created_at", "action", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="api")
    action: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None]
    result: Mapped[dict[str, Any] | None]
    outcome: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    trace_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The audit chain's head (one row, id 1): the row lock appenders queue on (audit.py)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The first seq hashed with the HMAC key (earlier records keep plain SHA-256 links).
    keyed_from_seq: Mapped[int] = mapped_column(BigInteger, server_default="1")


class IdempotencyRecord(UUIDPrimaryKey, Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RuntimeSetting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RuntimeSettingChange(UUIDPrimaryKey, Base):
    __tablename__ = "settings_history"
    __table_args__ = (Index("ix_settings_history_key_changed_at", "key", "changed_at"),)

    key: Mapped[str] = mapped_column(String(128))
    old_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


class Backup(UUIDPrimaryKey, Base):
    """One backup file under the home's backups/ (services/system/backups.py)."""

    __tablename__ = "backups"

    label: Mapped[str | None] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(1024))
    engine: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(32))
    schema_revision: Mapped[str | None] = mapped_column(String(64))
    # The audit chain's head inside the backup: a restore exports every later record.
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    verified_at: Mapped[datetime | None]


class MetricsSnapshot(UUIDPrimaryKey, Base):
    __tablename__ = "metrics_snapshots"

    label: Mapped[str | None] = mapped_column(String(128))
    taken_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[dict[str, Any]]


ALERT_LEVELS_SQL = "level IN ('WARNING', 'ERROR', 'CRITICAL')"


class LogRecord(UUIDPrimaryKey, Base):
    """Structured log records of every process (services/logs), for the SystemLogs view."""

    __tablename__ = "log_records"
    __table_args__ = (
        Index("ix_log_records_level_created_at", "level", "created_at"),
        Index("ix_log_records_trace_id", "trace_id"),
        Index("ix_log_records_job_id", "job_id"),
        Index("ix_log_records_source_created_at", "source", "created_at"),
        # "WARNING and above" is a list the (level, created_at) index cannot return in
        # time order; these few rows get their own.
        Index(
            "ix_log_records_alert_created_at",
            "created_at",
            postgresql_where=text(ALERT_LEVELS_SQL),
            sqlite_where=text(ALERT_LEVELS_SQL),
        ),
        Index(
            "ix_log_records_message_trgm",
            "message",
            postgresql_using="gin",
            postgresql_ops={"message": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    level: Mapped[str] = mapped_column(String(16))
    logger: Mapped[str] = mapped_column(String(128), index=True)
    message: Mapped[str] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64), default="", server_default="")
    job_id: Mapped[uuid.UUID | None]
    actor: Mapped[str | None] = mapped_column(String(64))
    extra: Mapped[dict[str, Any] | None]


class BusMessage(Base):
    """The embedded bus: processes on one home read new rows by id (~250 ms)."""

    __tablename__ = "bus_messages"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
