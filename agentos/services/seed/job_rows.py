"""Generating seed jobs: each with its steps and clips, consistent with its status (see rows).

Unfinished jobs (pending, queued, processing) are made to run: their source is the demo
video (seed/demo.py), and what their completed stages left behind is the demo's (media
info, step outputs, clips), so a worker started on seeded data completes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from agentos.schemas.jobs import JobStatus
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.seed.demo import DemoMedia
from agentos.services.seed.rows import (
    CODECS,
    DAY_S,
    FPS_CHOICES,
    PRIORITIES,
    RESOLUTIONS,
    STAGE_ERRORS,
    STAGE_SECONDS,
    TOPICS,
    WORKERS,
    Batch,
    Tally,
    new_uuid,
    pick,
    status_plan,
    stream,
)


class JobGenerator:
    """Jobs with their processing steps and clips, consistent with each job's status."""

    def __init__(
        self,
        *,
        seed: int,
        now: datetime,
        owners: list[uuid.UUID],
        clips_root: str,
        demo: DemoMedia,
    ) -> None:
        self.rng = stream(seed, "jobs")
        self.clips_root = clips_root.rstrip("/")
        self.demo = demo
        self.now = now
        self.now_s = now.timestamp()
        self.owners = owners
        self.tally = Tally()

    def at(self, offset_s: float) -> datetime:
        return datetime.fromtimestamp(self.now_s + offset_s, UTC)

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
        if status in JobStatus.UNFINISHED:
            job.demo = True
            job.size = self.demo.size
            job.media = self.demo.media_info if stage > PIPELINE.index("probe") else None
        if status != "pending":
            self._steps(batch, job, waits, spans)
        if status == "completed":
            self._clips(batch, job)
        elif job.demo and stage > PIPELINE.index("clipper"):
            self._demo_clips(batch, job)
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
        if job.demo:
            return self.demo.output(agent)
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

    def _demo_clips(self, batch: Batch, job: _JobShape) -> None:
        """The demo's clips, as the clipper left them (thumbnailed once thumbs is done)."""
        created = self.at(job.last_change)
        thumbed = job.stage > PIPELINE.index("thumbs")
        for *values, thumbnail in self.demo.clips:
            batch.clips.append(
                (
                    new_uuid(self.rng), job.id, *values, thumbnail if thumbed else None,
                    "pending", created,
                )
            )  # fmt: skip
        self.tally.clips += len(self.demo.clips)

    def _job_row(self, job: _JobShape, index: int) -> tuple[Any, ...]:
        rng = self.rng
        status, stage = job.status, job.stage
        code, message = STAGE_ERRORS[PIPELINE[stage]] if status == "failed" else (None, None)
        created = job.start - (rng.uniform(0.5, 30.0) if status != "pending" else 0.0)
        finished = job.last_change if status in JobStatus.TERMINAL else None
        done = len(PIPELINE) if status == "completed" else stage
        if status == "pending":
            job.last_change = created
        title = f"{pick(rng, TOPICS)}-{index + 1:07d}.mp4"
        source, sha256 = f"uploads/{job.id}/{title}", f"{rng.getrandbits(256):064x}"
        if job.demo:
            source, sha256 = self.demo.path, self.demo.sha256
        return (
            job.id, self.owners[index % len(self.owners)], title, source, sha256, job.size, status,
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
        "demo",
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
        self.demo = False
        self.first_started: float | None = None
        self.last_change = start
        self.media: dict[str, Any] | None = None
        self.size = 0
        self.clip_count = 0
