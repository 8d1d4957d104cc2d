"""The Jobs & Queue actions on the fake source: they change the fake's job list as the
real ones would (cancel, retry, delete, priority), refuse what the real ones refuse (a
dangerous one without confirm, deleting an unfinished job), honour dry runs, and answer
429 once `limit` real runs of an action were done."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agentos.errors import ConflictError, InvalidError, NotFoundError, RateLimitedError
from agentos.schemas.actions import (
    ActionInfo,
    JobDeletePayload,
    JobIdPayload,
    JobSetPriorityPayload,
    NoPayload,
    QueueClearPayload,
    QueueRetryFailedPayload,
)
from agentos.schemas.jobs import JOB_STATUSES, JobRead, JobStatus

JOB_ACTIONS: dict[str, tuple[type[BaseModel], bool]] = {
    "job.cancel": (JobIdPayload, False),
    "job.retry": (JobIdPayload, False),
    "job.delete": (JobDeletePayload, True),
    "job.set_priority": (JobSetPriorityPayload, False),
    "queue.clear": (QueueClearPayload, True),
    "queue.retry_failed": (QueueRetryFailedPayload, False),
    "queue.pause": (NoPayload, False),
    "queue.resume": (NoPayload, False),
}
RETRY_AFTER_S = 42.0


def jobs_catalog() -> list[ActionInfo]:
    return [
        ActionInfo(
            name=name,
            view="Jobs & Queue",
            summary=f"fake {name}",
            permission="jobs:write",
            read_only=False,
            rate_class="high_risk" if dangerous else "standard",
            rate_limit=10,
            rate_window_s=60,
            dangerous=dangerous,
            dependencies=[],
            payload_schema=model.model_json_schema(),
        )
        for name, (model, dangerous) in JOB_ACTIONS.items()
    ]


def sort_jobs(jobs: list[JobRead], sort: str, *, descending: bool) -> list[JobRead]:
    def key(job: JobRead) -> Any:
        if sort == "status":
            return JOB_STATUSES.index(job.status.value)
        if sort == "current_stage":
            return job.current_stage or ""
        if sort == "title":
            return job.title.lower()
        return getattr(job, sort)

    return sorted(jobs, key=lambda job: (key(job), str(job.id)), reverse=descending)


class FakeJobs:
    def __init__(self, jobs: list[JobRead]) -> None:
        self.jobs = jobs  # the fake source's own list: changed in place
        self.limit: dict[str, int] = {}  # action -> real runs allowed before a 429
        self.done: dict[str, int] = {}

    def _find(self, payload: dict[str, Any]) -> JobRead:
        wanted = str(payload["job_id"])
        found = [job for job in self.jobs if str(job.id).startswith(wanted)]
        if len(found) != 1:
            raise NotFoundError(f"job {wanted} not found", code="JOB_NOT_FOUND")
        return found[0]

    def _replace(self, job: JobRead, **changes: Any) -> JobRead:
        changed = job.model_copy(update=changes)
        self.jobs[self.jobs.index(job)] = changed
        return changed

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        dry_run = bool(payload.get("dry_run"))
        if JOB_ACTIONS[action][1] and not dry_run and not payload.get("confirm"):
            raise InvalidError(f"{action} is destructive", code="CONFIRMATION_REQUIRED")
        if not dry_run and action in self.limit:
            if self.done.get(action, 0) >= self.limit[action]:
                raise RateLimitedError("too many", retry_after_s=RETRY_AFTER_S)
            self.done[action] = self.done.get(action, 0) + 1
        if action.startswith("queue."):
            return {"count": 0, "job_ids": [], "dry_run": dry_run}
        job = self._find(payload)
        status = job.status.value
        if action == "job.delete":
            if status not in JobStatus.TERMINAL:
                raise ConflictError(f"job {job.id} is {status}", code="JOB_NOT_FINISHED")
            if not dry_run:
                self.jobs.remove(job)
            return {"job_id": str(job.id), "steps": 6, "clips": 2, "files": ["a", "b"]}
        if dry_run:
            return job.model_dump(mode="json")
        if action == "job.cancel":
            if status not in JobStatus.UNFINISHED:
                raise ConflictError(f"job {job.id} is {status}", code="INVALID_TRANSITION")
            job = self._replace(job, status=JobStatus.cancelled)
        elif action == "job.retry":
            if status not in JobStatus.RETRYABLE:
                raise ConflictError(f"job {job.id} is {status}", code="INVALID_TRANSITION")
            job = self._replace(job, status=JobStatus.queued)
        elif action == "job.set_priority":
            job = self._replace(job, priority=int(payload["priority"]))
        return job.model_dump(mode="json")
