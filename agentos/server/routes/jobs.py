"""Job endpoints (seed: Jobs, 12). Literal paths come before `/{job_id}` (a UUID)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from agentos.schemas.clips import ClipRead
from agentos.schemas.common import DateTimeText, PageEnvelope, SuccessEnvelope
from agentos.schemas.jobs import (
    JobCreate,
    JobDetail,
    JobFilters,
    JobRead,
    JobSort,
    JobStats,
    JobStatus,
    JobStatusUpdate,
    JobsToday,
    SortOrder,
)
from agentos.server.deps import (
    CachedActorDep,
    CurrentActorDep,
    PagingDep,
    SessionDep,
    in_one_hop,
)
from agentos.server.responses import ok, paged
from agentos.server.routes._actions import AdminWriteDep
from agentos.server.routes._docs import BearerAuth, documented
from agentos.services import clips, jobs, uploads
from agentos.services.pipeline import progress

router = APIRouter(prefix="/api/jobs", tags=["Jobs"], dependencies=[BearerAuth])
OWN_JOBS = "Users see their own jobs only; staff roles see every job."
NOT_YOURS = "Another user's job answers 404 JOB_NOT_FOUND, as an unknown id does."
JobId = Annotated[uuid.UUID, Path(description="Job id (UUID)")]


async def job_filters(
    status: Annotated[list[JobStatus] | None, Query(description="Repeat for several")] = None,
    user_id: Annotated[uuid.UUID | None, Query(description="Owner (staff only)")] = None,
    created_from: Annotated[
        DateTimeText | None, Query(description="RFC 3339 with offset, inclusive")
    ] = None,
    created_to: Annotated[
        DateTimeText | None, Query(description="RFC 3339 with offset, exclusive")
    ] = None,
    search: Annotated[str | None, Query(max_length=255, description="In the title")] = None,
    id_prefix: Annotated[
        str | None,
        Query(
            min_length=4,
            max_length=36,
            pattern="^-*([0-9a-fA-F]-*){4,32}$",
            description="Jobs whose id starts with these hex digits (a short id from the TUI)",
        ),
    ] = None,
    sort: Annotated[
        JobSort, Query(description="Order by this field; ties by id. Default created_at")
    ] = "created_at",
    order: Annotated[SortOrder, Query(description="asc or desc (default: desc)")] = "desc",
) -> JobFilters:
    return JobFilters(
        status=status,
        owner_id=user_id,
        created_from=created_from,
        created_to=created_to,
        search=search,
        id_prefix=id_prefix,
        sort=sort,
        order=order,
    )


Filters = Annotated[JobFilters, Depends(job_filters)]


@router.get(
    "/today",
    summary="Today's jobs (UTC) with their statistics",
    description=f"Jobs created since midnight UTC, newest first (at most 100). {OWN_JOBS}",
    response_model=SuccessEnvelope[JobsToday],
    responses=documented(JobsToday),
)
async def jobs_today(request: Request, actor: CachedActorDep) -> dict[str, Any]:
    return ok(request, await in_one_hop(request, lambda session: jobs.today(session, actor=actor)))


@router.get(
    "/history",
    summary="Job history: filters, sort and pages (newest first by default)",
    description=f"{OWN_JOBS} `pagination.total` is an exact count of the matching jobs. "
    "`user_id` for another user answers 404 to a user. For the next page pass "
    "`pagination.next_cursor` as `cursor` (the same cost at any depth, no job twice while "
    "jobs are added); `page` alone reads past every row before the page.",
    response_model=PageEnvelope[JobRead],
    responses=documented(JobRead, 404, 422, paged=True),
)
async def job_history(
    request: Request, actor: CachedActorDep, filters: Filters, page: PagingDep
) -> dict[str, Any]:
    found = await in_one_hop(
        request, lambda session: jobs.find(session, actor=actor, filters=filters, page=page)
    )
    return paged(request, found)


@router.get(
    "/summary/stats",
    summary="Counts per status, success rate, mean duration",
    description=OWN_JOBS,
    response_model=SuccessEnvelope[JobStats],
    responses=documented(JobStats),
)
def job_summary(request: Request, session: SessionDep, actor: CurrentActorDep) -> dict[str, Any]:
    return ok(request, jobs.summary_stats(session, actor=actor))


@router.get(
    "/recent/{limit}",
    summary="The most recent jobs (1-500)",
    description=f"{OWN_JOBS} A limit outside 1-500 answers 422.",
    response_model=SuccessEnvelope[list[JobRead]],
    responses=documented(JobRead, 422, many=True),
)
async def recent_jobs(
    request: Request,
    actor: CachedActorDep,
    limit: Annotated[int, Path(ge=1, le=500, examples=[20])],
) -> dict[str, Any]:
    found = await in_one_hop(
        request, lambda session: jobs.recent(session, actor=actor, limit=limit)
    )
    return ok(request, found)


@router.get(
    "/status/{status}",
    summary="Jobs in one status",
    description=f"{OWN_JOBS} An unknown status answers 422.",
    response_model=PageEnvelope[JobRead],
    responses=documented(JobRead, 422, paged=True),
)
async def jobs_by_status(
    request: Request, actor: CachedActorDep, status: JobStatus, page: PagingDep
) -> dict[str, Any]:
    filters = JobFilters(status=[status])
    found = await in_one_hop(
        request, lambda session: jobs.find(session, actor=actor, filters=filters, page=page)
    )
    return paged(request, found)


@router.get(
    "/user/{user_id}",
    summary="One user's jobs (users: only their own)",
    description="A user asking for someone else's jobs gets 404 USER_NOT_FOUND.",
    response_model=PageEnvelope[JobRead],
    responses=documented(JobRead, 404, 422, paged=True),
)
async def jobs_of_user(
    request: Request, actor: CachedActorDep, user_id: uuid.UUID, page: PagingDep
) -> dict[str, Any]:
    filters = JobFilters(owner_id=user_id)
    found = await in_one_hop(
        request, lambda session: jobs.find(session, actor=actor, filters=filters, page=page)
    )
    return paged(request, found)


@router.post(
    "/create",
    status_code=201,
    summary="Create a job from a finalised upload",
    description="The upload must be yours and finalised (POST /api/upload/finalize with "
    "`create_job: false`); options override the agents' configuration for this job. "
    "Readonly users get 403.",
    response_model=SuccessEnvelope[JobRead],
    responses=documented(JobRead, 400, 403, 404, 409, 422, status=201),
)
def create_job(
    request: Request, body: JobCreate, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, uploads.create_from_upload(session, actor=actor, request=body))


@router.get(
    "/{job_id}",
    summary="One job with its steps and clips",
    description=NOT_YOURS,
    response_model=SuccessEnvelope[JobDetail],
    responses=documented(JobDetail, 404, 422),
)
def get_job(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, jobs.get_detail(session, job_id=job_id, actor=actor))


@router.get(
    "/{job_id}/clips",
    summary="The clips of one job",
    description=NOT_YOURS,
    response_model=SuccessEnvelope[list[ClipRead]],
    responses=documented(ClipRead, 404, 422, many=True),
)
def job_clips(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, clips.for_job(session, job_id=job_id, actor=actor))


@router.post(
    "/{job_id}/retry",
    summary="Queue a failed or cancelled job again at the stage that stopped",
    description=f"Any other status answers 409 INVALID_TRANSITION. {NOT_YOURS}",
    response_model=SuccessEnvelope[JobRead],
    responses=documented(JobRead, 403, 404, 409, 422),
)
def retry_job(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, jobs.retry(session, job_id=job_id, actor=actor))


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a pending, queued or processing job",
    description="A running stage stops at its next cancellation check. A finished job "
    f"answers 409 INVALID_TRANSITION. {NOT_YOURS}",
    response_model=SuccessEnvelope[JobRead],
    responses=documented(JobRead, 403, 404, 409, 422),
)
def cancel_job(
    request: Request, job_id: JobId, session: SessionDep, actor: CurrentActorDep
) -> dict[str, Any]:
    return ok(request, jobs.cancel(session, job_id=job_id, actor=actor))


@router.post(
    "/{job_id}/status",
    summary="Report a stage's progress/result (agent) or force a status (operator)",
    description="An external agent (API key with the `agent` scope) sends `stage` + `state`; "
    "an operator sends `status`, which runs the `job.set_status` admin action (its "
    "permission, rate limit, Idempotency-Key and audit). Every change goes through the job "
    "state machine: an impossible transition answers 409 INVALID_TRANSITION, a missing role "
    "or scope 403.",
    response_model=SuccessEnvelope[JobRead],
    responses=documented(JobRead, 400, 403, 404, 409, 422),
)
def report_job_status(
    request: Request, job_id: JobId, body: JobStatusUpdate, write: AdminWriteDep
) -> dict[str, Any]:
    if body.status is None:
        update = progress.report_stage
        return ok(request, update(write.session, job_id=job_id, actor=write.actor, update=body))
    payload = {"job_id": job_id, **body.model_dump(include={"status", "error", "error_code"})}
    return ok(request, write.run("job.set_status", payload))
