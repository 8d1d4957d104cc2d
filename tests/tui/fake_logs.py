"""The System Logs view's side of the fake source: a small log store and event table that
answer `logs.search` (every filter, keyset pages) and `events.list` as the server does."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from agentos.errors import AgentOSError
from agentos.schemas.actions import ActionInfo, AlertAckPayload, NoPayload
from agentos.schemas.actions_logs import (
    EventListPayload,
    LogRecordRead,
    LogSearchPayload,
    LogSearchResult,
)
from agentos.schemas.actions_reads import AuditSearchPayload
from agentos.schemas.events import EventRead

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_ACTIONS: dict[str, tuple[type[BaseModel], bool]] = {
    "logs.search": (LogSearchPayload, True),
    "events.list": (EventListPayload, True),
    "audit.search": (AuditSearchPayload, True),
    "audit.verify": (NoPayload, True),
    "dashboard.alert.ack": (AlertAckPayload, False),
}


def logs_catalog() -> list[ActionInfo]:
    return [
        ActionInfo(
            name=name,
            view="SystemLogs",
            summary=f"fake {name}",
            permission="logs:read",
            read_only=read_only,
            rate_class="standard",
            rate_limit=50,
            rate_window_s=60,
            dangerous=False,
            dependencies=[],
            payload_schema=model.model_json_schema(),
        )
        for name, (model, read_only) in LOG_ACTIONS.items()
    ]


def job_id(number: int) -> uuid.UUID:
    return uuid.UUID(f"{number:08x}-0000-4000-8000-000000000000")


class FakeLogs:
    """Records and events, newest first; `fail[name]` makes `name` raise."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.records: list[LogRecordRead] = []
        self.events: list[EventRead] = []
        self.fail: dict[str, AgentOSError] = {}
        self.add_record("agentos.api", "GET /api/jobs 200", level="INFO", source="server")
        self.add_record(
            "agentos.pipeline", "clipper failed: no scenes", level="ERROR", job=job_id(2)
        )
        self.add_record("agentos.worker", "pool grew to 4", trace="t-42")
        self.add_event("clipper failed on video-002.mp4", severity="error", job=job_id(2))
        self.add_event("worker celery@a online", source="worker", kind="worker.online")

    # -- filling ---------------------------------------------------------------------------

    def add_record(
        self,
        logger: str,
        message: str,
        *,
        level: str = "INFO",
        source: str = "worker",
        job: uuid.UUID | None = None,
        trace: str | None = None,
        age_s: float | None = None,
    ) -> LogRecordRead:
        """A record `age_s` old (default: a second older than the oldest so far)."""
        created = self.now - timedelta(seconds=age_s if age_s is not None else self._age())
        record = LogRecordRead(
            id=uuid.uuid4(),
            created_at=created,
            level=level,
            logger=logger,
            message=message,
            source=source,
            trace_id=trace,
            job_id=job,
        )
        self.records.append(record)
        self.records.sort(key=lambda item: (item.created_at, str(item.id)), reverse=True)
        return record

    def _age(self) -> float:
        return float(len(self.records) + 1)

    def add_event(
        self,
        message: str,
        *,
        severity: str = "info",
        source: str = "pipeline",
        kind: str = "note",
        job: uuid.UUID | None = None,
        age_s: float | None = None,
    ) -> EventRead:
        created = self.now - timedelta(seconds=age_s if age_s is not None else len(self.events))
        event = EventRead(
            id=uuid.uuid4(),
            severity=severity,
            source=source,
            kind=kind,
            message=message,
            job_id=job,
            created_at=created,
        )
        self.events.append(event)
        self.events.sort(key=lambda item: item.created_at, reverse=True)
        return event

    # -- answering -------------------------------------------------------------------------

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action in self.fail:
            raise self.fail[action]
        if action == "logs.search":
            return self.search(LogSearchPayload.model_validate(payload)).model_dump(mode="json")
        if action == "events.list":
            found = self.list_events(EventListPayload.model_validate(payload))
            return {"events": [event.model_dump(mode="json") for event in found]}
        if action == "audit.verify":
            return {"ok": True, "checked": 0}
        return {}

    def search(self, payload: LogSearchPayload) -> LogSearchResult:
        found = [record for record in self.records if self._matches(record, payload)]
        if payload.before:
            at, _, ident = payload.before.partition("|")
            found = [r for r in found if (r.created_at.isoformat(), str(r.id)) < (at, ident)]
        page = found[: payload.limit]
        more = len(found) > payload.limit
        cursor = f"{page[-1].created_at.isoformat()}|{page[-1].id}" if more else None
        return LogSearchResult(records=page, next_cursor=cursor)

    @staticmethod
    def _matches(record: LogRecordRead, payload: LogSearchPayload) -> bool:
        return all(
            (
                payload.level is None or LEVELS.index(record.level) >= LEVELS.index(payload.level),
                payload.source is None or record.source.startswith(payload.source),
                payload.trace_id is None or record.trace_id == payload.trace_id,
                payload.job_id is None or record.job_id == payload.job_id,
                payload.query is None or payload.query.lower() in record.message.lower(),
            )
        )

    def list_events(self, payload: EventListPayload) -> list[EventRead]:
        found = [
            event
            for event in self.events
            if (payload.severity is None or event.severity == payload.severity)
            and (payload.source is None or event.source == payload.source)
            and (payload.trace_id is None or event.trace_id == payload.trace_id)
            and (payload.job_id is None or event.job_id == payload.job_id)
        ]
        return found[: payload.limit]
