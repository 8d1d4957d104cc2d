"""Deterministic, realistic seed data: users, jobs with their steps and clips, system events.

Everything comes from `random.Random` streams derived from the `--seed` value, so one seed
always yields the same rows; timestamps are offsets from the moment of seeding (`now`),
spread over the last 24 hours. Rows are plain tuples in the column order of the `*_COLUMNS`
constants, produced in batches so a million jobs never sit in memory at once.

Consistency rules the pipeline relies on: a queued job's queued step is for its current
stage and carries the job's priority (it is what the runner claims), a processing job has
one running step with a recent heartbeat, completed jobs have all six stages completed and
their clips, failed jobs end in failed attempts of the stage that failed.
"""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

JOB_STATUSES: tuple[str, ...] = (
    "pending",
    "queued",
    "processing",
    "completed",
    "failed",
    "cancelled",
)
STATUS_WEIGHTS: tuple[float, ...] = (0.07, 0.14, 0.10, 0.46, 0.13, 0.10)
DAY_S = 24 * 3600.0
T = TypeVar("T")

JOB_COLUMNS: tuple[str, ...] = (
    "id", "owner_id", "title", "source_path", "source_sha256", "source_size", "status",
    "priority", "attempts", "max_attempts", "current_stage", "progress", "cancel_requested",
    "options", "media_info", "error", "error_code", "queued_at", "started_at", "finished_at",
    "created_at", "updated_at",
)  # fmt: skip
STEP_COLUMNS: tuple[str, ...] = (
    "id", "job_id", "agent", "attempt", "status", "priority", "worker_id", "task_id",
    "progress", "created_at", "started_at", "heartbeat_at", "finished_at", "duration_ms",
    "error", "output",
)  # fmt: skip
CLIP_COLUMNS: tuple[str, ...] = (
    "id", "job_id", "ordinal", "start", "end", "duration", "width", "height", "fps", "codec",
    "size_bytes", "path", "thumbnail_path", "status", "created_at",
)  # fmt: skip
JSON_COLUMNS: frozenset[str] = frozenset({"options", "media_info", "output", "details"})

# seconds a stage takes (min, max), per pipeline agent
STAGE_SECONDS: dict[str, tuple[float, float]] = {
    "ingest": (0.3, 4.0),
    "probe": (0.2, 2.0),
    "scenes": (4.0, 45.0),
    "clipper": (3.0, 60.0),
    "thumbs": (0.5, 8.0),
    "publish": (0.1, 1.5),
}
STAGE_ERRORS: dict[str, tuple[str, str]] = {
    "ingest": ("CHECKSUM_MISMATCH", "upload checksum mismatch: the file changed in transit"),
    "probe": ("NO_VIDEO_STREAM", "no video stream found in the container"),
    "scenes": ("DECODE_ERROR", "decoder error: invalid data found when processing input"),
    "clipper": ("CUT_FAILED", "could not cut clip: seek past the end of the stream"),
    "thumbs": ("THUMBNAIL_FAILED", "could not encode the thumbnail JPEG"),
    "publish": ("STORAGE_UNAVAILABLE", "clip storage unavailable: no space left on device"),
}
RESOLUTIONS: tuple[tuple[int, int], ...] = ((1920, 1080), (1280, 720), (3840, 2160), (1080, 1920))
FPS_CHOICES: tuple[float, ...] = (23.976, 24.0, 25.0, 29.97, 30.0, 60.0)
CODECS: tuple[str, ...] = ("h264", "h264", "h264", "hevc", "vp9")
TOPICS: tuple[str, ...] = (
    "keynote", "match-highlights", "product-demo", "interview", "webinar", "drone-survey",
    "lecture", "podcast-video", "launch-event", "tutorial", "town-hall", "trailer",
)  # fmt: skip
PRIORITIES: tuple[int, ...] = (0, 0, 0, 0, 0, 1, 2, 5, 10)
WORKERS: tuple[str, ...] = tuple(f"seed-worker-{number}" for number in range(1, 5))
REGULAR_USERS: tuple[tuple[str, str], ...] = (
    ("olivia", "operator"),
    ("sam", "supervisor"),
    ("uma", "user"),
    ("victor", "user"),
    ("rita", "readonly"),
)
JOB_OWNER_ROLES = frozenset({"admin", "operator", "supervisor", "user"})


@dataclass(frozen=True)
class SeedUser:
    id: uuid.UUID
    username: str
    role: str
    email: str


@dataclass
class Batch:
    jobs: list[tuple[Any, ...]] = field(default_factory=list)
    steps: list[tuple[Any, ...]] = field(default_factory=list)
    clips: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.jobs) + len(self.steps) + len(self.clips)


@dataclass
class Tally:
    """What the generator produced: the verification step checks the database against it."""

    jobs_by_status: Counter[str] = field(default_factory=Counter)
    steps_by_status: Counter[str] = field(default_factory=Counter)
    clips: int = 0
    events_by_severity: Counter[str] = field(default_factory=Counter)
    acknowledged_events: int = 0
    failed_job_ids: list[uuid.UUID] = field(default_factory=list)


def stream(seed: int, name: str) -> random.Random:
    """An independent random stream per concern, so adding events never changes the jobs."""
    return random.Random(f"agentos-seed:{seed}:{name}")


_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def new_uuid(rng: random.Random) -> uuid.UUID:
    """A random (version 4) UUID drawn from `rng`, so ids repeat with the seed."""
    return uuid.UUID(int=(rng.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS)


def make_users(seed: int) -> list[SeedUser]:
    rng = stream(seed, "users")
    everyone = [("admin", "admin"), *REGULAR_USERS]
    return [SeedUser(new_uuid(rng), name, role, f"{name}@agentos.local") for name, role in everyone]


_STATUS_CUMULATIVE = tuple(itertools.accumulate(STATUS_WEIGHTS))


def pick(rng: random.Random, options: Sequence[T]) -> T:
    # random.choice's rejection sampling is several times slower; the bias of
    # int(random() * n) is far below anything seed data could show.
    return options[int(rng.random() * len(options))]


def status_plan(rng: random.Random, index: int) -> str:
    """Every status appears once in the first six jobs, then by weight."""
    if index < len(JOB_STATUSES):
        return JOB_STATUSES[index]
    position = bisect.bisect(_STATUS_CUMULATIVE, rng.random() * _STATUS_CUMULATIVE[-1])
    return JOB_STATUSES[min(position, len(JOB_STATUSES) - 1)]
