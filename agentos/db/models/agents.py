"""Agents (pipeline stages) and the workers that run them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentos.db.base import Base, JSONType, Timestamps, UUIDPrimaryKey, utcnow


class Agent(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "agents"

    name: Mapped[str] = mapped_column(String(32), unique=True)
    stage_order: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    concurrency: Mapped[int] = mapped_column(default=1)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Worker(UUIDPrimaryKey, Base):
    """A worker process (embedded pool or Celery worker), known by its heartbeats."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    hostname: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int]
    agents: Mapped[list[str]] = mapped_column(JSONType, default=list)
    concurrency: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="online")
    tasks_done: Mapped[int] = mapped_column(default=0)
    tasks_failed: Mapped[int] = mapped_column(default=0)
    cpu_percent: Mapped[float | None] = mapped_column(Float)
    memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
