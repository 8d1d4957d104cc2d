"""Jobs for the front ends: list, show, and the snapshot `jobs watch` redraws.

Locally the services run on this machine's home as the configured local operator; with
`--server` the same calls go through the HTTP API with the caller's token.
"""

from __future__ import annotations

import uuid

from agentos.client.connection import Connection
from agentos.schemas.common import Page, PageParams
from agentos.schemas.jobs import JobDetail, JobFilters, JobRead, JobStatus
from agentos.schemas.queue import QueueStatus
from agentos.services import jobs, queue


def list_jobs(
    conn: Connection,
    *,
    status: list[JobStatus] | None = None,
    search: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[JobRead]:
    """Jobs newest first, optionally only those in `status`."""
    if conn.local:
        filters = JobFilters(status=status or None, search=search)
        params = PageParams(page=page, per_page=per_page)
        with conn.session() as session:
            return jobs.find(session, actor=conn.local_actor, filters=filters, page=params)
    query: dict[str, str | int | list[str]] = {"page": page, "per_page": per_page}
    if status:
        query["status"] = [value.value for value in status]
    if search:
        query["search"] = search
    return Page[JobRead].model_validate(conn.request("GET", "/api/jobs/history", params=query))


def show_job(conn: Connection, *, job_id: uuid.UUID) -> JobDetail:
    """One job with its processing steps and clips."""
    if conn.local:
        with conn.session() as session:
            return jobs.get_detail(session, job_id=job_id, actor=conn.local_actor)
    return JobDetail.model_validate(conn.request("GET", f"/api/jobs/{job_id}"))


def queue_status(conn: Connection) -> QueueStatus:
    if conn.local:
        with conn.session() as session:
            return queue.status(session)
    return QueueStatus.model_validate(conn.request("GET", "/api/queue/status"))
