"""Exact operational figures read live (`GET /api/admin/ssot/figures`): failed jobs by error
code, the retries waiting for their next attempt, and per-agent step series per hour.

They are counted in the database over every row (GROUP BY on indexes), never from a sample,
and read on request rather than kept in the cached document: the Failures and Analytics
views ask every 30-60 s, while the document is rebuilt after every change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from agentos.schemas.jobs import JobRead


class FiguresPart(StrEnum):
    failures = "failures"
    retries = "retries"
    agents = "agents"


class FailureGroup(BaseModel):
    error_code: str | None = Field(description="None: jobs that failed without a code")
    jobs: int = Field(description="failed jobs with this code, all of them")
    last_hour: int = Field(description="of them, finished in the last 60 minutes")
    last_24h: int = Field(description="of them, finished in the last 24 hours")
    last_failed_at: datetime | None = Field(description="the newest failure's finish time")
    stages: dict[str, int] = Field(
        default_factory=dict, description="failed jobs per stage they stopped at"
    )
    latest_error: str | None = Field(default=None, description="the newest failure's message")


class FailureFigures(BaseModel):
    failed_jobs: int = Field(description="every failed job")
    codes: int = Field(description="distinct error codes among them (no code counts as one)")
    groups: list[FailureGroup] = Field(
        description="by error code, most jobs first (the 100 largest when there are more)"
    )
    error_code: str | None = Field(
        default=None, description="the code whose jobs are listed ('' for no code)"
    )
    group_jobs: list[JobRead] = Field(
        default_factory=list, description="that code's newest failed jobs (at most `jobs_limit`)"
    )
    jobs_limit: int = Field(description="how many of a group's jobs are listed at most")


class RetryWaiting(BaseModel):
    step_id: uuid.UUID
    job_id: uuid.UUID
    title: str
    agent: str = Field(description="the stage that is tried again")
    attempt: int = Field(description="the attempt that waits")
    max_attempts: int
    next_attempt_at: datetime = Field(
        description="when it may start (a worker claims it then, once one is free)"
    )
    last_error: str | None = Field(description="why the attempt before failed")
    last_error_code: str | None
    last_status: str | None = Field(description="how the attempt before ended")


class RetryFigures(BaseModel):
    waiting: int = Field(description="stage attempts queued after an earlier one, all of them")
    due: int = Field(description="of them, past their start time: waiting for a worker")
    retries: list[RetryWaiting] = Field(description="the soonest first (at most `limit`)")
    limit: int


class AgentHour(BaseModel):
    hour: datetime = Field(description="start of the UTC hour")
    completed: int
    failed: int
    mean_ms: float | None = Field(description="mean duration of the completed steps")
    p50_ms: float | None
    p95_ms: float | None


class AgentSeries(BaseModel):
    agent: str
    completed: int = Field(description="steps completed in the window")
    failed: int
    mean_ms: float | None
    p50_ms: float | None = Field(description="median duration of the completed steps")
    p95_ms: float | None
    hours: list[AgentHour] = Field(description="one per hour of the window, oldest first")


class AgentFigures(BaseModel):
    hours: int = Field(description="hours in the window (the current one included)")
    since: datetime = Field(description="start of the window's first hour")
    agents: list[AgentSeries] = Field(description="in pipeline order")


class LiveFigures(BaseModel):
    generated_at: datetime
    failures: FailureFigures | None = Field(default=None, description="when asked for")
    retries: RetryFigures | None = None
    agents: AgentFigures | None = None
