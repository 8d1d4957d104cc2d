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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from agentos.services.jobs.catalog import PIPELINE

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


_from_timestamp = datetime.fromtimestamp
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


class JobGenerator:
    """Jobs with their processing steps and clips, consistent with each job's status."""

    def __init__(
        self, *, seed: int, now: datetime, owners: list[uuid.UUID], clips_root: str
    ) -> None:
        self.rng = stream(seed, "jobs")
        self.clips_root = clips_root.rstrip("/")
        self.now = now
        self.now_s = now.timestamp()
        self.owners = owners
        self.tally = Tally()

    def at(self, offset_s: float) -> datetime:
        return _from_timestamp(self.now_s + offset_s, UTC)

    def batches(self, count: int, batch_size: int) -> Iterator[Batch]:
        batch = Batch()
        for index in range(count):
            self._job(batch, index)
            if len(batch.jobs) >= batch_size:
                yield batch
                batch = Batch()
        if batch.jobs:
            yield batch

    def _job(self, batch: Batch, index: int) -> None:
        rng = self.rng
        status = status_plan(rng, index)
        job_id = new_uuid(rng)
        stage = 0 if status == "pending" else rng.randrange(len(PIPELINE))
        if status == "completed":
            stage = len(PIPELINE) - 1
        waits = [rng.uniform(0.05, 8.0) for _ in range(stage + 1)]
        spans = [rng.uniform(*STAGE_SECONDS[PIPELINE[i]]) for i in range(stage + 1)]
        start = self._anchor(status, stage, waits, spans)
        job = _JobShape(job_id, status, stage, pick(rng, PRIORITIES), start)
        if status == "completed" or stage >= 2:
            job.media = media = self._media()
            job.size = int(media["bitrate"] / 8 * media["duration"])
            job.clip_count = 1 + int(media["duration"] // 240)
        else:
            job.size = rng.randrange(5_000_000, 2_000_000_000)
        if status != "pending":
            self._steps(batch, job, waits, spans)
        if status == "completed":
            self._clips(batch, job)
        batch.jobs.append(self._job_row(job, index))
        self.tally.jobs_by_status[status] += 1
        if status == "failed" and len(self.tally.failed_job_ids) < 500:
            self.tally.failed_job_ids.append(job_id)

    def _anchor(self, status: str, stage: int, waits: list[float], spans: list[float]) -> float:
        """When the job was queued, as an offset from now, so its timeline ends in the past."""
        rng = self.rng
        before = sum(waits[:stage]) + sum(spans[:stage])
        if status == "pending":
            return -rng.uniform(5.0, 1800.0)
        if status == "queued":
            return -(before + rng.uniform(0.5, 120.0))
        if status == "processing":
            return -(before + waits[stage] + spans[stage] * rng.uniform(0.05, 0.9))
        total = before + waits[stage] + spans[stage]
        return -(total + rng.uniform(0.0, DAY_S - total - 3600.0))

    def _media(self) -> dict[str, Any]:
        rng = self.rng
        width, height = pick(rng, RESOLUTIONS)
        return {
            "duration": round(rng.uniform(20.0, 900.0), 3),
            "width": width,
            "height": height,
            "fps": pick(rng, FPS_CHOICES),
            "video_codec": pick(rng, CODECS),
            "audio_codec": "aac",
            "bitrate": rng.randrange(1_500_000, 12_000_000, 1000),
            "format": "mp4",
        }

    def _steps(self, batch: Batch, job: _JobShape, waits: list[float], spans: list[float]) -> None:
        clock = job.start
        for position in range(job.stage + 1):
            agent = PIPELINE[position]
            created = clock
            started = created + waits[position]
            finished = started + spans[position]
            last = position == job.stage
            if not last or job.status == "completed":
                self._step(batch, job, agent, 1, "completed", created, started, finished)
                job.first_started = started if position == 0 else job.first_started
                clock = job.last_change = finished
                continue
            self._final_step(batch, job, agent, created, started, finished)

    def _final_step(
        self,
        batch: Batch,
        job: _JobShape,
        agent: str,
        created: float,
        started: float,
        finished: float,
    ) -> None:
        if job.status == "queued":
            self._step(batch, job, agent, 1, "queued", created, None, None)
            job.last_change = created
        elif job.status == "processing":
            self._step(batch, job, agent, 1, "running", created, started, None)
            job.first_started = started if job.first_started is None else job.first_started
            job.last_change = started
        elif job.status == "cancelled":
            began = started if self.rng.random() < 0.5 else None
            self._step(batch, job, agent, 1, "cancelled", created, began, finished)
            if job.first_started is None:
                job.first_started = began
            job.last_change = finished
        else:
            job.attempts = self.rng.randint(1, 3)
            for attempt in range(1, job.attempts + 1):
                offset = (attempt - 1) * (finished - created + 5.0)
                self._step(
                    batch, job, agent, attempt, "failed",
                    created + offset, started + offset, finished + offset,
                )  # fmt: skip
                job.last_change = finished + offset
            if job.first_started is None:
                job.first_started = started

    def _step(
        self,
        batch: Batch,
        job: _JobShape,
        agent: str,
        attempt: int,
        status: str,
        created: float,
        started: float | None,
        finished: float | None,
    ) -> None:
        rng, at = self.rng, self.at
        heartbeat = None
        progress = 1.0 if status == "completed" else 0.0
        if status == "running":
            heartbeat = -rng.uniform(0.2, 4.0)
            progress = round(rng.uniform(0.05, 0.95), 3)
        elif started is not None:
            heartbeat = finished
        duration_ms = None
        if started is not None and finished is not None:
            duration_ms = round((finished - started) * 1000.0, 3)
        error = STAGE_ERRORS[agent][1] if status == "failed" else None
        batch.steps.append(
            (
                new_uuid(rng), job.id, agent, attempt, status, job.priority,
                None if started is None else pick(rng, WORKERS), None, progress,
                at(created), None if started is None else at(started),
                None if heartbeat is None else at(heartbeat),
                None if finished is None else at(finished), duration_ms, error,
                self._output(agent, job) if status == "completed" else None,
            )
        )  # fmt: skip
        self.tally.steps_by_status[status] += 1

    def _maybe_at(self, offset_s: float | None) -> datetime | None:
        return None if offset_s is None else self.at(offset_s)

    def _output(self, agent: str, job: _JobShape) -> dict[str, Any]:
        media = job.media or {}
        if agent == "ingest":
            return {"bytes": job.size}
        if agent == "probe":
            return {"duration": media.get("duration"), "codec": media.get("video_codec")}
        if agent == "scenes":
            return {"scenes": job.clip_count + self.rng.randrange(0, 4)}
        return {"clips": job.clip_count}

    def _clips(self, batch: Batch, job: _JobShape) -> None:
        """Highlights of 2-60 s, one per equal slot of the source, in order."""
        rng = self.rng
        media = job.media or {}
        slot = float(media["duration"]) / job.clip_count
        root = self.clips_root
        created = self.at(job.last_change)
        bytes_per_s = int(media["bitrate"]) / 8
        width, height, fps, codec = (
            media["width"],
            media["height"],
            media["fps"],
            media["video_codec"],
        )
        for ordinal in range(1, job.clip_count + 1):
            length = min(slot, rng.uniform(2.0, 60.0))
            start = round((ordinal - 1) * slot + rng.uniform(0.0, slot - length), 3)
            end = round(start + length, 3)
            # The clipper's own naming: <clips>/<job>/clip_<n>_<start ms>-<end ms>.mp4
            name = f"{root}/{job.id}/clip_{ordinal:03d}_{round(start * 1000)}-{round(end * 1000)}"
            batch.clips.append(
                (
                    new_uuid(rng), job.id, ordinal, start, end, round(end - start, 3),
                    width, height, fps, codec, int((end - start) * bytes_per_s),
                    f"{name}.mp4", f"{name}.jpg", "ready", created,
                )
            )  # fmt: skip
        self.tally.clips += job.clip_count

    def _job_row(self, job: _JobShape, index: int) -> tuple[Any, ...]:
        rng = self.rng
        status, stage = job.status, job.stage
        code, message = STAGE_ERRORS[PIPELINE[stage]] if status == "failed" else (None, None)
        created = job.start - (rng.uniform(0.5, 30.0) if status != "pending" else 0.0)
        finished = job.last_change if status in {"completed", "failed", "cancelled"} else None
        done = len(PIPELINE) if status == "completed" else stage
        if status == "pending":
            job.last_change = created
        title = f"{pick(rng, TOPICS)}-{index + 1:07d}.mp4"
        return (
            job.id, self.owners[index % len(self.owners)], title,
            f"uploads/{job.id}/{title}", f"{rng.getrandbits(256):064x}", job.size, status,
            job.priority, job.attempts if status != "pending" else 0, 3,
            None if status in {"pending", "completed"} else PIPELINE[stage],
            round(done / len(PIPELINE), 4), status == "cancelled", {}, job.media,
            message, code, None if status == "pending" else self.at(job.start),
            self._maybe_at(job.first_started), self._maybe_at(finished),
            self.at(created), self.at(job.last_change),
        )  # fmt: skip


class _JobShape:
    """The facts of one job while its rows are produced."""

    __slots__ = (
        "attempts",
        "clip_count",
        "first_started",
        "id",
        "last_change",
        "media",
        "priority",
        "size",
        "stage",
        "start",
        "status",
    )

    def __init__(self, job_id: uuid.UUID, status: str, stage: int, priority: int, start: float):
        self.id = job_id
        self.status = status
        self.stage = stage
        self.priority = priority
        self.start = start
        self.attempts = 1
        self.first_started: float | None = None
        self.last_change = start
        self.media: dict[str, Any] | None = None
        self.size = 0
        self.clip_count = 0
