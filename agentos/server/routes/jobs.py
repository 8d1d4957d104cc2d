"""Job endpoints (seed: Jobs, 12). Literal paths come before `/{job_id}` (a UUID)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from agentos.schemas.clips import ClipRead
from agentos.schemas.common import PageEnvelope, PageParams, SuccessEnvelope
from agentos.schemas.jobs import (
    JobCreate,
    JobDetail,
    JobFilters,
    JobRead,
    JobStats,
    JobStatus,
    JobStatusUpdate,
    JobsToday,
)
from agentos.server.deps import CurrentActorDep, SessionDep
from agentos.server.errors import ERROR_RESPONSES
from agentos.server.responses import ok, paged
from agentos.services import clips, jobs

router = APIRouter(prefix="/api/jobs", tags=["Jobs"], responses=ERROR_RESPONSES)
Paging = Annotated[PageParams, Depends()]
JobId = Annotated[uuid.UUID, Path(description="Job id (UUID)")]


def job_filters(
    status: Annotated[list[JobStatus] | None, Query(description="Repeat for several")] = None,
    user_id: Annotated[uuid.UUID | None, Query(description="Owner (staff only)")] = None,
    created_from: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    created_to: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    search: Annotated[str | None, Query(max_length=255, description="In the title")] = None,
) -> JobFilters:
    return JobFilters(
        status=status,
        owner_id=user_id,
        created_from=created_from,
        created_to=created_to,
        search=search,
    )


Filters = Annotated[JobFilters, Depends(job_filters)]


@router.get(
    "/today",
    summary="Today's jobs (UTC) with their statistics",
    response_model=SuccessEnvelope[JobsToday],
)
def jobs_today(request: Request, session: SessionDep, actor: CurrentActorDep) -> dict[str, Any]:
    return ok(request, jobs.today(session, actor=actor))


@router.get(
    "/history",
    summary="Job history: filters and pages, newest first",
    response_model=PageEnvelope[JobRead],
)
def job_history(
    request: Request, session: SessionDep, actor: CurrentActorDep, filters: Filters, page: Paging
) -> dict[str, Any]:
    return paged(request, jobs.find(session, actor=actor, filters=filters, page=page))


@router.get(
    "/summary/stats",
    summary="Counts per status, success rate, mean duration",
    response_model=SuccessEnvelope[JobStats],
)
def job_summary(request: Request, session: SessionDep, actor: CurrentActorDep) -> dict[str, Any]:
    return ok(request, jobs.summary_stats(session, actor=actor))


@router.get(
    "/recent/{limit}",
    summary="The most recent jobs (1-500)",
    response_model=SuccessEnvelope[list[JobRead]],
)
def recent_jobs(
    request: Request,
    session: SessionDep,
    actor: CurrentActorDep,
    limit: Annotated[int, Path(ge=1, le=500, examples=[20])],
) -> dict[str, Any]:
    return ok(request, jobs.recent(session, actor=actor, limit=limit))


@router.get("/status/{status}", summary="Jobs in one status", response_model=PageEnvelope[JobRead])
def jobs_by_status(
    request: Request, session: SessionDep, actor: CurrentActorDep, status: JobStatus, page: Paging
) -> dict[str, Any]:
    filters = JobFilters(status=[status])
    return paged(request, jobs.find(session, actor=actor, filters=filters, page=page))


@router.get(
    "/user/{user_id}",
    summary="One user's jobs (users: only their own)",
    response_model=PageEnvelope[JobRead],
)
def jobs_of_user(
    request: Request, session: SessionDep, actor: CurrentActorDep, user_id: uuid.UUID, page: Paging
) -> dict[str, Any]:
    filters = JobFilters(owner_id=user_id)
    return paged(request, jobs.find(session, actor=actor, filters=filters, page=page))


@router.post(
    "/create",
    status_code=201,
    summary="Create a job from a finalised upload",
    response_model=SuccessEnvelope[JobRead],
)
def create_job(
    request: Request, body: JobCreate, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, jobs.create_from_upload(session, actor=actor, request=body))


@router.get(
    "/{job_id}",
    summary="One job with its steps and clips",
    response_model=SuccessEnvelope[JobDetail],
)
def get_job(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, jobs.get_detail(session, job_id=job_id, actor=actor))


@router.get(
    "/{job_id}/clips",
    summary="The clips of one job",
    response_model=SuccessEnvelope[list[ClipRead]],
)
def job_clips(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, clips.for_job(session, job_id=job_id, actor=actor))


@router.post(
    "/{job_id}/retry",
    summary="Queue a failed or cancelled job again at the stage that stopped",
    response_model=SuccessEnvelope[JobRead],
)
def retry_job(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, jobs.retry(session, job_id=job_id, actor=actor))


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a pending, queued or processing job",
    response_model=SuccessEnvelope[JobRead],
)
def cancel_job(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, jobs.cancel(session, job_id=job_id, actor=actor))


@router.post(
    "/{job_id}/status",
    summary="Report a stage's progress/result (agent) or force a status (operator)",
    response_model=SuccessEnvelope[JobRead],
)
def report_job_status(
    request: Request,
    job_id: JobId,
    body: JobStatusUpdate,
    session: SessionDep,
    actor: CurrentActorDep,
) -> dict[str, Any]:
    return ok(request, jobs.report_status(session, job_id=job_id, actor=actor, update=body))
