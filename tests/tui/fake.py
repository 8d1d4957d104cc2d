"""A deterministic source (fixed clock, ids and figures) for snapshot tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agentos.client import Snapshot
from agentos.client.backend import EventCallback, StateCallback
from agentos.errors import AgentOSError
from agentos.schemas.actions import ActionInfo, ActionResponse
from agentos.schemas.actions_managers import ManagersView
from agentos.schemas.admin import AdminDocument, CacheMeta
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.common import Page, Pagination
from agentos.schemas.figures import FiguresPart, LiveFigures
from agentos.schemas.jobs import JobDetail, JobRead
from agentos.tui.source import ConfigView, Source
from tests.tui.fake_figures import FakeFigures
from tests.tui.fake_jobs import JOB_ACTIONS, FakeJobs, jobs_catalog, sort_jobs
from tests.tui.fake_logs import LOG_ACTIONS, FakeLogs, logs_catalog
from tests.tui.fake_managers import (
    CONFIG_ACTIONS,
    MANAGER_ACTIONS,
    FakeConfig,
    FakeManagers,
    catalog_of,
)
from tests.tui.fake_system import FakeSystem, system_catalog
from tests.tui.fake_workers import WORKER_ACTIONS, FakeWorkers, workers_catalog

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
STATUSES = ("completed", "failed", "processing", "queued", "cancelled", "pending")


def _id(number: int) -> uuid.UUID:
    return uuid.UUID(f"{number:08x}-0000-4000-8000-000000000000")


def fake_jobs(count: int = 12) -> list[JobRead]:
    jobs = []
    for number in range(count):
        status = STATUSES[number % len(STATUSES)]
        created = NOW - timedelta(minutes=10 * (number + 1))
        jobs.append(
            JobRead(
                id=_id(number + 1),
                title=f"video-{number + 1:03d}.mp4",
                status=status,  # type: ignore[arg-type]
                priority=number % 3,
                attempts=1,
                max_attempts=3,
                current_stage="scenes" if status == "processing" else None,
                progress=1.0 if status == "completed" else 0.4 if status == "processing" else 0.0,
                cancel_requested=False,
                created_at=created,
                # One processing job has been silent for an hour: shown as stalled.
                updated_at=created if number == 2 else NOW - timedelta(seconds=5),
                queued_at=created if status == "queued" else None,
            )
        )
    return jobs


def fake_document() -> AdminDocument:
    buckets = [
        {
            "hour": NOW - timedelta(hours=11 - h),
            "created": 3 + h % 4,
            "completed": 2 + h % 3,
            "failed": h % 2,
        }
        for h in range(12)
    ]
    event = {
        "id": str(_id(900)),
        "created_at": NOW - timedelta(minutes=3),
        "severity": "error",
        "source": "clipper",
        "kind": "stage_failed",
        "message": "clipper failed on video-002.mp4",
        "job_id": str(_id(2)),
        "acknowledged": False,
    }
    agents = [
        {
            "name": name,
            "stage_order": order,
            "enabled": name != "thumbs",
            "state": "disabled" if name == "thumbs" else "idle",
            "concurrency": 2,
            "queue_depth": order,
            "running": 0,
            "current_work": [],
        }
        for order, name in enumerate(("ingest", "probe", "scenes", "clipper", "thumbs", "publish"))
    ]
    return AdminDocument.model_validate(
        {
            "deployment": "embedded",
            "built_at": NOW,
            "build_ms": 12.5,
            "dashboard": {
                "jobs_by_status": dict.fromkeys(STATUSES, 2),
                "total_jobs": 12,
                "active_jobs": 4,
                "completed_today": 2,
                "failed_today": 2,
                "throughput_per_hour": 4,
                "error_rate": 0.25,
                "total_clips": 17,
                "agents_total": 6,
                "agents_enabled": 5,
                "workers_online": 0,
                "unacknowledged_errors": 1,
                "queue_paused": False,
            },
            "agents_workers": {
                "agents": agents,
                "workers": [],
                "workers_online": 0,
                "workers_offline": 0,
                "process": None,
            },
            "analytics": {
                "hours": 12,
                "buckets": buckets,
                "created": 54,
                "completed": 35,
                "failed": 6,
            },
            "queue": {
                "paused": False,
                "pending_jobs": 2,
                "queued_jobs": 2,
                "processing_jobs": 2,
                "total_depth": 4,
                "oldest_waiting_s": 400.0,
                "agents": [],
            },
            "logs": {"recent_events": [event], "recent_errors": [event], "failed_jobs": []},
        }
    )


class FakeSource(Source):
    def __init__(self) -> None:
        self.document = fake_document()
        self.job_list = fake_jobs()
        self.system = FakeSystem(self.document)
        self.managers_data = FakeManagers(NOW)
        self.config_data = FakeConfig(NOW)
        self.logs_data = FakeLogs(NOW)
        self.workers_data = FakeWorkers(self.document)
        self.jobs_data = FakeJobs(self.job_list)
        self.figures_data = FakeFigures(self.job_list)
        self.details: dict[uuid.UUID, JobDetail] = {}  # job() answers these as they are
        self.replay: set[str] = set()  # actions answered as idempotent replays
        self.audit_records: list[AuditRecordRead] = []
        self.fail: dict[str, AgentOSError] = {}  # "snapshot": the document read raises it
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.on_event: EventCallback | None = None

    @property
    def label(self) -> str:
        return "fake · fixed data"

    def snapshot(self) -> Snapshot:
        if "snapshot" in self.fail:
            raise self.fail["snapshot"]
        meta = CacheMeta(source="hit", age_s=1.0, built_at=NOW, build_ms=12.5, size_bytes=4096)
        return Snapshot(self.document, meta)

    def jobs(
        self,
        *,
        status: list[str] | None,
        search: str | None,
        page: int,
        per_page: int,
        sort: str | None = None,
        order: str | None = None,
        id_prefix: str | None = None,
        cursor: str | None = None,
    ) -> Page[JobRead]:
        self.calls.append(("jobs", {"status": status, "search": search, "page": page,
                                    "sort": sort, "order": order, "id_prefix": id_prefix,
                                    "cursor": cursor}))  # fmt: skip
        chosen = [
            job
            for job in self.job_list
            if (not status or job.status.value in status)
            and (not search or search.lower() in job.title.lower())
            and (not id_prefix or str(job.id).startswith(id_prefix))
        ]
        chosen = sort_jobs(chosen, sort or "created_at", descending=(order or "desc") == "desc")
        # The fake's cursors are positions ("at:40"); the screen treats them as opaque.
        start = int(cursor.split(":")[1]) if cursor else (page - 1) * per_page
        end = start + per_page
        return Page(
            data=chosen[start:end],
            pagination=Pagination.of(
                page=start // per_page + 1,
                per_page=per_page,
                total=len(chosen),
                has_next=end < len(chosen),
                next_cursor=f"at:{end}" if end < len(chosen) else None,
                prev_cursor=f"at:{max(0, start - per_page)}" if start > 0 else None,
            ),
        )

    def job(self, job_id: uuid.UUID) -> JobDetail:
        if job_id in self.details:
            return self.details[job_id]
        job = next(job for job in self.job_list if job.id == job_id)
        return JobDetail.model_validate(job.model_dump())

    def audit(
        self, *, query: str | None = None, trace_id: str | None = None, limit: int = 100
    ) -> list[AuditRecordRead]:
        self.calls.append(("audit.search", {"query": query, "trace_id": trace_id}))
        return list(self.audit_records)

    def catalog(self) -> list[ActionInfo]:
        return (
            jobs_catalog()
            + system_catalog()
            + catalog_of(MANAGER_ACTIONS | CONFIG_ACTIONS)
            + logs_catalog()
            + workers_catalog()
        )

    def run(self, action: str, payload: dict[str, Any] | None = None) -> ActionResponse:
        payload = dict(payload or {})
        self.calls.append((action, payload))
        rehearsed = action in JOB_ACTIONS or action == "system.storage.cleanup"
        if payload.get("dry_run") and not rehearsed:  # a dry run changes nothing
            return ActionResponse(action=action, result={}, dry_run=True)
        if action in MANAGER_ACTIONS:
            result = self.managers_data.answer(action, payload)
        elif action in CONFIG_ACTIONS:
            result = self.config_data.answer(action, payload)
        elif action in WORKER_ACTIONS:
            result = self.workers_data.answer(action, payload)
        elif action in LOG_ACTIONS:
            result = self.logs_data.answer(action, payload)
        elif action.startswith("system."):
            result = self.system.answer(action, payload)
        elif action in JOB_ACTIONS:
            result = self.jobs_data.answer(action, payload)
        else:
            result = {}
        return ActionResponse(
            action=action,
            result=result,
            dry_run=bool(payload.get("dry_run")),
            replayed=action in self.replay,
        )

    def runs(self, action: str) -> list[dict[str, Any]]:
        """The payloads `action` was run with, in order."""
        return [payload for name, payload in self.calls if name == action]

    def real_runs(self, action: str) -> list[dict[str, Any]]:
        """The payloads `action` was run with for real (not its dry runs), in order."""
        return [payload for payload in self.runs(action) if not payload.get("dry_run")]

    def rehearsals(self, action: str) -> list[dict[str, Any]]:
        """The dry runs of `action` (a confirmation's rehearsal), in order."""
        return [payload for payload in self.runs(action) if payload.get("dry_run")]

    def config(self) -> ConfigView:
        return self.config_data.view()

    def managers(self) -> ManagersView:
        return self.managers_data.view()

    def figures(
        self, parts: Sequence[FiguresPart], *, error_code: str | None = None
    ) -> LiveFigures:
        return self.figures_data.answer(parts, error_code)

    def start_live(self, on_event: EventCallback, on_state: StateCallback) -> None:
        self.on_event = on_event  # tests deliver "live" changes through it, from a thread
        on_state("live", "fake")

    def stop_live(self) -> None:
        return None

    def close(self) -> None:
        return None
