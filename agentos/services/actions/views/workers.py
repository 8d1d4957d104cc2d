"""AgentsWorkers view, worker actions: worker.ping, worker.stats, worker.pool_grow,
worker.pool_shrink, worker.autoscale, worker.shutdown, worker.revoke_task.

Distributed: Celery's remote control (a broadcast with a reply timeout); embedded: the
same requests answered by the in-process pools over the bus (services.pipeline.worker_ops).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.schemas.actions_workers import (
    WorkerAutoscalePayload,
    WorkerPoolPayload,
    WorkerPoolResult,
    WorkerReplies,
    WorkerRevokePayload,
    WorkerRevokeResult,
    WorkerShutdownPayload,
    WorkerShutdownResult,
    WorkerStatsResult,
    WorkerTargetPayload,
)
from agentos.services.actions.registry import ActionContext, action
from agentos.services.pipeline import worker_ops

VIEW = "AgentsWorkers"
REACHES_WORKERS = ("database", "broker")


@action(
    "worker.ping",
    view=VIEW,
    summary="Round trip to each worker (or one); latency per worker, absent ones listed",
    payload=WorkerTargetPayload,
    result=WorkerReplies,
    permission="workers:read",
    dependencies=REACHES_WORKERS,
)
def worker_ping(
    session: Session, payload: WorkerTargetPayload, ctx: ActionContext
) -> WorkerReplies:
    return worker_ops.ping(session, worker=payload.worker)


@action(
    "worker.stats",
    view=VIEW,
    summary="CPU, memory, load, pool and tasks done of each worker (or one), from the worker",
    payload=WorkerTargetPayload,
    result=WorkerStatsResult,
    permission="workers:read",
    dependencies=REACHES_WORKERS,
)
def worker_stats(
    session: Session, payload: WorkerTargetPayload, ctx: ActionContext
) -> WorkerStatsResult:
    return worker_ops.stats(session, worker=payload.worker)


@action(
    "worker.pool_grow",
    view=VIEW,
    summary="Grow a worker's pool by n processes (embedded: stages at once)",
    payload=WorkerPoolPayload,
    result=WorkerPoolResult,
    permission="workers:write",
    dependencies=REACHES_WORKERS,
)
def worker_pool_grow(
    session: Session, payload: WorkerPoolPayload, ctx: ActionContext
) -> WorkerPoolResult:
    return worker_ops.resize(session, worker=payload.worker, delta=payload.n)


@action(
    "worker.pool_shrink",
    view=VIEW,
    summary="Shrink a worker's pool by n; running stages finish first",
    payload=WorkerPoolPayload,
    result=WorkerPoolResult,
    permission="workers:write",
    dependencies=REACHES_WORKERS,
)
def worker_pool_shrink(
    session: Session, payload: WorkerPoolPayload, ctx: ActionContext
) -> WorkerPoolResult:
    return worker_ops.resize(session, worker=payload.worker, delta=-payload.n)


@action(
    "worker.autoscale",
    view=VIEW,
    summary="Set a worker's autoscaling bounds: its pool follows the backlog between them",
    payload=WorkerAutoscalePayload,
    result=WorkerPoolResult,
    permission="workers:write",
    dependencies=REACHES_WORKERS,
)
def worker_autoscale(
    session: Session, payload: WorkerAutoscalePayload, ctx: ActionContext
) -> WorkerPoolResult:
    return worker_ops.autoscale(session, worker=payload.worker, low=payload.min, high=payload.max)


@action(
    "worker.shutdown",
    view=VIEW,
    summary="Warm shutdown of one worker: no new work, running stages finish, then it exits",
    payload=WorkerShutdownPayload,
    result=WorkerShutdownResult,
    permission="workers:write",
    rate_class="high_risk",
    dangerous=True,
    dependencies=REACHES_WORKERS,
)
def worker_shutdown(
    session: Session, payload: WorkerShutdownPayload, ctx: ActionContext
) -> WorkerShutdownResult:
    return worker_ops.shutdown(session, worker=payload.worker, dry_run=ctx.dry_run)


@action(
    "worker.revoke_task",
    view=VIEW,
    summary="Revoke a stage's task (terminate: stop it if running); its job is cancelled",
    payload=WorkerRevokePayload,
    result=WorkerRevokeResult,
    permission="workers:write",
    rate_class="high_risk",
    dependencies=REACHES_WORKERS,
)
def worker_revoke_task(
    session: Session, payload: WorkerRevokePayload, ctx: ActionContext
) -> WorkerRevokeResult:
    return worker_ops.revoke(session, task_id=payload.task_id, terminate=payload.terminate)
