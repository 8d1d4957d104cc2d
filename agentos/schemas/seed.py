"""The one-step recovery (`db reset-and-seed`): what it was asked, what it wrote, what it verified."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from agentos.schemas.db import SchemaReport

# (phase, done, total): called while the seed works, e.g. ("jobs", 40000, 1000000).
SeedProgress = Callable[[str, int, int], None]


class SeedOptions(BaseModel):
    jobs: int = Field(default=25, ge=0, le=10_000_000)
    events: int = Field(default=100, ge=0, le=1_000_000)
    seed: int | None = Field(default=None, ge=0, description="random seed; None picks one")
    clean: bool = Field(default=False, description="also remove files under uploads/clips/backups")
    batch_size: int = Field(default=20_000, ge=1, le=1_000_000)
    pause_queue_from: int | None = Field(
        default=1_000,
        ge=0,
        description="pause the queue when the seed makes at least this many jobs to run "
        "(queued or processing), so a large seed does not start them all at once; None "
        "never pauses",
    )
    server_side_from: int | None = Field(
        default=20_000,
        ge=0,
        description="PostgreSQL: from this many jobs up, the database generates jobs, steps "
        "and clips itself (set-based SQL); None always generates them in Python",
    )


class SeedTableCount(BaseModel):
    table: str
    rows: int


class SeedResult(BaseModel):
    dialect: str
    random_seed: int
    jobs_requested: int
    events_requested: int
    tables: list[SeedTableCount]
    jobs_by_status: dict[str, int]
    steps_by_status: dict[str, int]
    events_by_severity: dict[str, int]
    total_rows: int
    seconds: float
    load_seconds: float = Field(description="generating and writing the rows (bulk phase)")
    rows_per_s: float = Field(description="total_rows / load_seconds")
    phases: dict[str, float] = Field(description="seconds per phase")
    admin_username: str
    admin_password: str = Field(description="one-time password; shown once, never stored")
    cache_key: str
    removed_files: int = 0
    queue_paused: bool = Field(
        default=False, description="the seed paused the queue (see queue_message)"
    )
    queue_message: str | None = Field(
        default=None, description="why the queue was paused and how to resume it"
    )
    schema_report: SchemaReport
    problems: list[str] = Field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems
